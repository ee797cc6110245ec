import Foundation

/// A model as an ONNX file (opset 13, dynamic batch) with every exit as an output, for
/// ONNX Runtime, OpenVINO and other runtimes.
///
/// The graph follows the authors' forward pass layer by layer (``NetworkDescription``):
/// each convolution is `Conv` → `BatchNormalization` (inference, the running statistics)
/// → `Relu`; fusion's up-sampling is `Resize` (linear, `align_corners`, to the sizes the
/// network has); an exit's classifier is `Flatten` → `Gemm`. Where a layer reads channels
/// that several layers wrote (a dense block's growing state), they are joined by `Concat`,
/// or cut by `Slice`. Input `input`: N × 3 × H × W; outputs `exit_1` … `exit_K`: N × classes.
///
/// ```swift
/// let contents = try ModelFile.read(from: URL(fileURLWithPath: "save/run"))
/// try OnnxExport.write(contents, to: URL(fileURLWithPath: "model.onnx"))
/// ```
public enum OnnxExport {
    /// The ONNX opset the graph uses.
    public static let opset = 13

    /// The ONNX file of a model (its config and weights; the state_dict must fit the config).
    public static func data(_ contents: ModelFile.Contents) throws -> Data {
        let network = try NetworkDescription(config: contents.config)
        try contents.stateDict.validate(for: network)
        var graph = GraphBuilder(network: network, stateDict: contents.stateDict)
        try graph.build()
        var model = ProtobufWriter()
        model.int(1, 8)  // ir_version
        model.string(2, "ranet-swift")
        model.message(7) { graph.encode(into: &$0) }
        model.message(8) { opset in
            opset.string(1, "")
            opset.int(2, Self.opset)
        }
        return model.data
    }

    /// Writes the ONNX file of a model, completely or not at all.
    public static func write(_ contents: ModelFile.Contents, to url: URL) throws {
        try writeFileAtomically(try data(contents), to: url)
    }
}

/// Turns the layer list into ONNX nodes: every tensor is tracked as the channel
/// segments layers have written into it, each an ONNX value.
private struct GraphBuilder {
    let network: NetworkDescription
    let stateDict: StateDict
    private var nodes: [Data] = []
    private var initializers: [Data] = []
    /// Per tensor: the segments written so far, by first channel.
    private var segments: [[(offset: Int, channels: Int, value: String)]]
    private var counter = 0
    private var outputs: [(name: String, classes: Int)] = []

    init(network: NetworkDescription, stateDict: StateDict) {
        self.network = network
        self.stateDict = stateDict
        segments = Array(repeating: [], count: network.tensors.count)
        segments[network.inputTensor] = [(0, 3, "input")]
    }

    private mutating func fresh(_ stem: String) -> String {
        counter += 1
        return "\(stem)_\(counter)"
    }

    private mutating func node(_ op: String, _ inputs: [String], _ output: String, _ attributes: [(inout ProtobufWriter) -> Void] = []) {
        var n = ProtobufWriter()
        for i in inputs { n.string(1, i) }
        n.string(2, output)
        n.string(3, output)
        n.string(4, op)
        for a in attributes { n.message(5, a) }
        nodes.append(n.data)
    }

    private static func ints(_ name: String, _ values: [Int]) -> (inout ProtobufWriter) -> Void {
        { a in
            a.string(1, name)
            for v in values { a.int(8, v) }
            a.int(20, 7)  // INTS
        }
    }

    private static func int(_ name: String, _ value: Int) -> (inout ProtobufWriter) -> Void {
        { a in
            a.string(1, name)
            a.int(3, value)
            a.int(20, 2)  // INT
        }
    }

    private static func float(_ name: String, _ value: Float) -> (inout ProtobufWriter) -> Void {
        { a in
            a.string(1, name)
            a.float(2, value)
            a.int(20, 1)  // FLOAT
        }
    }

    private static func string(_ name: String, _ value: String) -> (inout ProtobufWriter) -> Void {
        { a in
            a.string(1, name)
            a.bytes(4, Data(value.utf8))
            a.int(20, 3)  // STRING
        }
    }

    /// A float initializer from a state_dict entry (or given values).
    private mutating func initializer(_ name: String, _ shape: [Int], _ values: [Float]) {
        var t = ProtobufWriter()
        for d in shape { t.int(1, d) }
        t.int(2, 1)  // FLOAT
        t.string(8, name)
        t.bytes(9, values.withUnsafeBufferPointer { Data(buffer: $0) })
        initializers.append(t.data)
    }

    private mutating func int64Initializer(_ name: String, _ values: [Int]) {
        var t = ProtobufWriter()
        t.int(1, values.count)
        t.int(2, 7)  // INT64
        t.string(8, name)
        t.bytes(9, values.map { Int64($0).littleEndian }.withUnsafeBufferPointer { Data(buffer: $0) })
        initializers.append(t.data)
    }

    private func tensor(_ key: String) -> [Float] { stateDict.tensors[key]!.values }

    /// The value holding channels [offset, offset + channels) of `slice.tensor`.
    private mutating func read(_ slice: TensorSlice) throws -> String {
        let end = slice.offset + slice.channels
        var parts: [String] = [], covered = 0
        for s in segments[slice.tensor] where s.offset < end && s.offset + s.channels > slice.offset {
            let a = max(s.offset, slice.offset), b = min(s.offset + s.channels, end)
            covered += b - a
            if a == s.offset && b == s.offset + s.channels {
                parts.append(s.value)
            } else {
                let name = fresh("slice")
                let (starts, ends, axes) = (name + "_starts", name + "_ends", name + "_axes")
                int64Initializer(starts, [a - s.offset])
                int64Initializer(ends, [b - s.offset])
                int64Initializer(axes, [1])
                node("Slice", [s.value, starts, ends, axes], name)
                parts.append(name)
            }
        }
        guard covered == slice.channels else {
            throw EngineError(message: "ONNX export: channels \(slice.offset)..<\(end) of tensor \(slice.tensor) are read before they are written")
        }
        if parts.count == 1 { return parts[0] }
        let name = fresh("concat")
        node("Concat", parts, name, [Self.int("axis", 1)])
        return name
    }

    private mutating func write(_ slice: TensorSlice, _ value: String) {
        segments[slice.tensor].append((slice.offset, slice.channels, value))
        segments[slice.tensor].sort { $0.offset < $1.offset }
    }

    mutating func build() throws {
        for layer in network.layers {
            let input = try read(layer.input)
            let (_, h, w) = network.shape(of: layer.output)
            switch layer.operation {
            case .conv(let unit):
                let name = fresh("conv")
                let (cin, cout) = (layer.input.channels, layer.output.channels)
                initializer(unit.convKey + ".weight", [cout, cin, unit.kernel, unit.kernel], tensor(unit.convKey + ".weight"))
                var inputs = [input, unit.convKey + ".weight"]
                if unit.hasBias {
                    initializer(unit.convKey + ".bias", [cout], tensor(unit.convKey + ".bias"))
                    inputs.append(unit.convKey + ".bias")
                }
                let p = unit.padding
                node("Conv", inputs, name, [Self.ints("kernel_shape", [unit.kernel, unit.kernel]), Self.ints("strides", [unit.stride, unit.stride]),
                                            Self.ints("pads", [p, p, p, p])])
                let bn = ["weight", "bias", "running_mean", "running_var"].map { unit.bnKey + "." + $0 }
                for key in bn { initializer(key, [cout], tensor(key)) }
                node("BatchNormalization", [name] + bn, name + "_bn", [Self.float("epsilon", Float(WeightFolding.epsilon))])
                node("Relu", [name + "_bn"], name + "_relu")
                write(layer.output, name + "_relu")
            case .resize:
                // Sizes: the input's N and C, then the output's height and width.
                let name = fresh("resize")
                node("Shape", [input], name + "_shape")
                int64Initializer(name + "_nc_start", [0])
                int64Initializer(name + "_nc_end", [2])
                node("Slice", [name + "_shape", name + "_nc_start", name + "_nc_end"], name + "_nc")
                int64Initializer(name + "_hw", [h, w])
                node("Concat", [name + "_nc", name + "_hw"], name + "_sizes", [Self.int("axis", 0)])
                node("Resize", [input, "", "", name + "_sizes"], name, [Self.string("mode", "linear"),
                                                                       Self.string("coordinate_transformation_mode", "align_corners")])
                write(layer.output, name)
            case .maxPool(let kernel, let stride, let padding):
                let name = fresh("maxpool")
                node("MaxPool", [input], name, [Self.ints("kernel_shape", [kernel, kernel]), Self.ints("strides", [stride, stride]),
                                                Self.ints("pads", [padding, padding, padding, padding])])
                write(layer.output, name)
            case .avgPool(let kernel):
                let name = fresh("avgpool")
                node("AveragePool", [input], name, [Self.ints("kernel_shape", [kernel, kernel]), Self.ints("strides", [kernel, kernel])])
                write(layer.output, name)
            case .linear(let key, let exit):
                let name = "exit_\(exit + 1)"
                let (cin, cout) = (layer.input.channels, layer.output.channels)
                initializer(key + ".weight", [cout, cin], tensor(key + ".weight"))
                initializer(key + ".bias", [cout], tensor(key + ".bias"))
                node("Flatten", [input], name + "_flat", [Self.int("axis", 1)])
                node("Gemm", [name + "_flat", key + ".weight", key + ".bias"], name, [Self.int("transB", 1)])
                outputs.append((name, cout))
            }
        }
    }

    private static func valueInfo(_ name: String, _ dims: [Int?]) -> (inout ProtobufWriter) -> Void {
        { v in
            v.string(1, name)
            v.message(2) { type in
                type.message(1) { t in
                    t.int(1, 1)  // FLOAT
                    t.message(2) { shape in
                        for d in dims {
                            shape.message(1) { dim in
                                if let d { dim.int(1, d) } else { dim.string(2, "N") }
                            }
                        }
                    }
                }
            }
        }
    }

    func encode(into g: inout ProtobufWriter) {
        for n in nodes { g.bytes(1, n) }
        g.string(2, "ranet")
        for t in initializers { g.bytes(5, t) }
        let s = network.config.inputSize
        g.message(11, Self.valueInfo("input", [nil, 3, s, s]))
        for (name, classes) in outputs.sorted(by: { $0.name.count == $1.name.count ? $0.name < $1.name : $0.name.count < $1.name.count }) {
            g.message(12, Self.valueInfo(name, [nil, classes]))
        }
    }
}
