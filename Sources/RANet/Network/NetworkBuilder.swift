/// Turns a config into tensors and layers, following the authors' RANet module by
/// module so that every layer carries its state_dict name.
///
/// Memory layout decisions made here (the rest is the execution plan's):
/// a block's dense states s_0…s_L are channel prefixes of one tensor; a block without
/// a transition leaves its output in place and the next block keeps appending to it;
/// a transition or a down-sampling layer starts a new tensor.
struct NetworkBuilder {
    let config: RANetConfig
    var tensors: [TensorSpec] = []
    var layers: [Layer] = []
    var input = 0
    var logits = 0
    var flowResolutions: [(height: Int, width: Int)] = []
    var exitLocations: [ExitLocation] = []

    init(config: RANetConfig) { self.config = config }

    /// A feature map being filled: a tensor and how many channels it holds so far.
    private struct Cursor {
        var tensor: Int
        var channels: Int
    }

    private mutating func newTensor(height: Int, width: Int, role: TensorSpec.Role = .activation, channels: Int = 0) -> Int {
        tensors.append(TensorSpec(channels: channels, height: height, width: width, role: role))
        return tensors.count - 1
    }

    /// Reserves the next `count` channels of `cursor`'s tensor.
    private mutating func append(_ count: Int, to cursor: inout Cursor) -> TensorSlice {
        let slice = TensorSlice(tensor: cursor.tensor, offset: cursor.channels, channels: count)
        cursor.channels += count
        tensors[cursor.tensor].channels = max(tensors[cursor.tensor].channels, cursor.channels)
        return slice
    }

    private func prefix(_ cursor: Cursor) -> TensorSlice {
        TensorSlice(tensor: cursor.tensor, offset: 0, channels: cursor.channels)
    }

    private func size(_ slice: TensorSlice) -> (Int, Int) {
        (tensors[slice.tensor].height, tensors[slice.tensor].width)
    }

    /// Output length of a window sliding over `size` (0 when the window does not fit;
    /// Swift's division truncates towards zero, so that case must not reach it).
    private static func outputSize(_ size: Int, kernel: Int, stride: Int, padding: Int) -> Int {
        let span = size + 2 * padding - kernel
        return span < 0 ? 0 : span / stride + 1
    }

    /// Conv + BN + ReLU from `input` into a new scratch tensor (or `output` if given).
    @discardableResult
    private mutating func conv(_ key: String, bn: String, from input: TensorSlice, channels: Int, kernel: Int,
                               stride: Int = 1, bias: Bool = false, into output: TensorSlice? = nil) throws -> TensorSlice {
        let (h, w) = size(input)
        let padding = kernel / 2
        let oh = Self.outputSize(h, kernel: kernel, stride: stride, padding: padding)
        let ow = Self.outputSize(w, kernel: kernel, stride: stride, padding: padding)
        guard oh >= 1, ow >= 1 else {
            throw ConfigError(field: "input_size", "\(config.inputSize) is too small: \(key) would get a \(h)×\(w) map")
        }
        let target: TensorSlice
        if let output {
            precondition(size(output) == (oh, ow) && output.channels == channels, "planned slice does not fit \(key)")
            target = output
        } else {
            var scratch = Cursor(tensor: newTensor(height: oh, width: ow), channels: 0)
            target = append(channels, to: &scratch)
        }
        let unit = ConvUnit(convKey: key, bnKey: bn, hasBias: bias, kernel: kernel, stride: stride, padding: padding)
        layers.append(Layer(operation: .conv(unit), input: input, output: target))
        return target
    }

    /// ConvBasic: `prefix.net.0` conv, `prefix.net.1` BN, ReLU.
    @discardableResult
    private mutating func convBasic(_ prefix: String, from input: TensorSlice, channels: Int, kernel: Int,
                                    stride: Int = 1, into output: TensorSlice? = nil) throws -> TensorSlice {
        try conv(prefix + ".net.0", bn: prefix + ".net.1", from: input, channels: channels, kernel: kernel,
                 stride: stride, into: output)
    }

    /// ConvBN (bottleneck): 1×1 to min(in, width·out) channels, then 3×3 (stride 2 if down).
    @discardableResult
    private mutating func convBN(_ prefix: String, from input: TensorSlice, channels: Int, bottleneckWidth: Int,
                                 down: Bool, into output: TensorSlice? = nil) throws -> TensorSlice {
        let inner = min(input.channels, bottleneckWidth * channels)
        let mid = try conv(prefix + ".net.0", bn: prefix + ".net.1", from: input, channels: inner, kernel: 1)
        return try conv(prefix + ".net.3", bn: prefix + ".net.4", from: mid, channels: channels, kernel: 3,
                        stride: down ? 2 : 1, into: output)
    }

    /// Writes `source` into `target`, resizing when the sizes differ. Producers that
    /// already have the target size write straight into it instead (see `produce`).
    private mutating func resize(_ source: TensorSlice, into target: TensorSlice) {
        layers.append(Layer(operation: .resize, input: source, output: target))
    }

    /// Runs `make` so that its result lands in `target`: directly when it already has
    /// the target's size, else into scratch followed by a resize.
    private mutating func produce(into target: TensorSlice, sourceSize: (Int, Int),
                                  _ make: (inout NetworkBuilder, TensorSlice?) throws -> TensorSlice) throws {
        if sourceSize == size(target) {
            _ = try make(&self, target)
        } else {
            let scratch = try make(&self, nil)
            resize(scratch, into: target)
        }
    }

    mutating func build() throws {
        let c = config
        let flows = c.flowCount
        input = newTensor(height: c.inputSize, width: c.inputSize, role: .input, channels: 3)
        logits = newTensor(height: 1, width: 1, role: .logits, channels: c.exitCount * c.numClasses)

        let flowInputs = try buildStem()
        var previousStates: [[TensorSlice]] = []
        let blocks = c.blocksPerFlow
        for f in 0..<flows {
            let growth = c.growthRate * c.grFactor[f]
            var cursor = flowInputs[f]
            flowResolutions.append((tensors[cursor.tensor].height, tensors[cursor.tensor].width))
            var states: [[TensorSlice]] = []
            let downPositions = Set(Self.pythonSuffix([0] + blocks[0..<f], count: c.scaleList[f] - 1))
            for n in 1...blocks[f] {
                let key = "scale_flows.\(f).\(n - 1)"
                let layerCount = c.layers(atBlock: n)
                let isFusion = f > 0 && n <= blocks[f - 1]
                var blockStates = [prefix(cursor)]
                for i in 0..<layerCount {
                    let layerKey = "\(key).layers.\(i)"
                    if isFusion {
                        let down = i == layerCount - 1 && downPositions.contains(n)
                        try fusionLayer(layerKey, flow: f, growth: growth, low: previousStates[n - 1][i], down: down, cursor: &cursor)
                    } else {
                        let x = prefix(cursor)
                        let out = append(growth, to: &cursor)
                        try convBN(layerKey + ".conv_normal", from: x, channels: growth, bottleneckWidth: c.bnFactor[f], down: false, into: out)
                    }
                    blockStates.append(prefix(cursor))
                }
                if isFusion {
                    let low = previousStates[n - 1][layerCount]
                    let lastChannels = Int((Double(cursor.channels) * c.compressFactor).rounded(.down))
                    guard lastChannels >= 1 else {
                        throw ConfigError(field: "compress_factor", "leaves \(key).conv_last with 0 channels")
                    }
                    let target = append(lastChannels, to: &cursor)
                    try produce(into: target, sourceSize: size(low)) { b, out in
                        try b.convBasic(key + ".conv_last", from: low, channels: lastChannels, kernel: 1, into: out)
                    }
                }
                states.append(blockStates)
                if Self.hasTransition(position: n, blocks: blocks[f], scale: c.scaleList[f]) {
                    let kept = Int((c.reduction * Double(cursor.channels)).rounded(.down))
                    guard kept >= 1 else { throw ConfigError(field: "reduction", "leaves \(key).trans with 0 channels") }
                    let (h, w) = size(prefix(cursor))
                    let source = prefix(cursor)
                    cursor = Cursor(tensor: newTensor(height: h, width: w), channels: 0)
                    try convBasic(key + ".trans", from: source, channels: kept, kernel: 1, into: append(kept, to: &cursor))
                }
                if !isFusion {
                    exitLocations.append(ExitLocation(flow: f, block: n, channels: cursor.channels))
                    try classifier(from: prefix(cursor))
                }
            }
            previousStates = states
        }
    }

    /// The stem: one output per flow, written straight into that flow's first tensor.
    private mutating func buildStem() throws -> [Cursor] {
        let c = config
        let flows = c.flowCount
        let grRev = Array(c.grFactor.reversed()), scaleRev = Array(c.scaleList.reversed())
        var outputs = [Cursor](repeating: Cursor(tensor: -1, channels: 0), count: flows)
        var x = TensorSlice(tensor: input, offset: 0, channels: 3)
        for i in 0..<flows {
            let channels = c.nChannels * grRev[i]
            let key = "FirstLayer.layers.\(i)"
            let (h, w) = size(x)
            var stride = 1, kernel = 3
            if i == 0 && c.data == .imagenet {
                stride = 2
                kernel = 7
            } else if i > 0 && scaleRev[i] != scaleRev[i - 1] {
                stride = 2
            }
            var oh = Self.outputSize(h, kernel: kernel, stride: stride, padding: kernel / 2)
            var ow = Self.outputSize(w, kernel: kernel, stride: stride, padding: kernel / 2)
            if i == 0 && c.data == .imagenet {
                oh = Self.outputSize(oh, kernel: 3, stride: 2, padding: 1)
                ow = Self.outputSize(ow, kernel: 3, stride: 2, padding: 1)
            }
            guard oh >= 1, ow >= 1 else {
                throw ConfigError(field: "input_size", "\(c.inputSize) is too small for the stem")
            }
            var cursor = Cursor(tensor: newTensor(height: oh, width: ow), channels: 0)
            let out = append(channels, to: &cursor)
            if i == 0 && c.data == .imagenet {
                let conv = try conv(key + ".0", bn: key + ".1", from: x, channels: channels, kernel: 7, stride: 2, bias: true)
                layers.append(Layer(operation: .maxPool(kernel: 3, stride: 2, padding: 1), input: conv, output: out))
            } else {
                try convBasic(key, from: x, channels: channels, kernel: 3, stride: stride, into: out)
            }
            outputs[flows - 1 - i] = cursor
            x = out
        }
        return outputs
    }

    /// A fusion layer: `cat(resize(x), resize(ConvBN_prev(low)), ConvBN(x))` on channels.
    private mutating func fusionLayer(_ key: String, flow f: Int, growth: Int, low: TensorSlice, down: Bool,
                                      cursor: inout Cursor) throws {
        let c = config
        let up = Int((Double(growth) * c.compressFactor).rounded(.down))
        let x = prefix(cursor)
        if down {
            let (h, w) = size(x)
            let oh = Self.outputSize(h, kernel: 3, stride: 2, padding: 1), ow = Self.outputSize(w, kernel: 3, stride: 2, padding: 1)
            cursor = Cursor(tensor: newTensor(height: oh, width: ow), channels: 0)
            resize(x, into: append(x.channels, to: &cursor))
        }
        let upTarget = append(up, to: &cursor)
        try produce(into: upTarget, sourceSize: size(low)) { b, out in
            try b.convBN(key + ".conv_up", from: low, channels: up, bottleneckWidth: c.bnFactor[f - 1], down: false, into: out)
        }
        let normalTarget = append(growth - up, to: &cursor)
        try convBN(key + ".conv_normal", from: x, channels: growth - up, bottleneckWidth: c.bnFactor[f], down: down, into: normalTarget)
    }

    /// The exit head: two ConvBasic 3×3 stride 2, 2×2 average pooling, Linear.
    private mutating func classifier(from input: TensorSlice) throws {
        let c = config
        let k = exitLocations.count - 1
        let key = "classifier.\(k)"
        let inner = c.data == .imagenet ? input.channels : 128
        let a = try convBasic(key + ".m.0", from: input, channels: inner, kernel: 3, stride: 2)
        let b = try convBasic(key + ".m.1", from: a, channels: inner, kernel: 3, stride: 2)
        let (h, w) = size(b)
        let ph = Self.outputSize(h, kernel: 2, stride: 2, padding: 0), pw = Self.outputSize(w, kernel: 2, stride: 2, padding: 0)
        guard ph == 1, pw == 1 else {
            let (fh, fw) = size(input)
            throw ConfigError(field: "input_size", "\(c.inputSize) leaves exit \(k) (\(fh)×\(fw) features) with a \(max(ph, 0))×\(max(pw, 0)) map after pooling; its Linear layer needs 1×1")
        }
        var pooled = Cursor(tensor: newTensor(height: 1, width: 1), channels: 0)
        let p = append(inner, to: &pooled)
        layers.append(Layer(operation: .avgPool(kernel: 2), input: b, output: p))
        let out = TensorSlice(tensor: logits, offset: k * c.numClasses, channels: c.numClasses)
        layers.append(Layer(operation: .linear(key: key + ".linear", exit: k), input: p, output: out))
    }

    /// The authors' `_trans_flag`: a transition after block n when n = floor((i+1)·B/scale).
    static func hasTransition(position n: Int, blocks: Int, scale: Int) -> Bool {
        (0..<max(scale - 1, 0)).contains { (($0 + 1) * blocks) / scale == n }
    }

    /// Python's `list[-(count):]`, including its quirk that `list[-0:]` is the whole list.
    static func pythonSuffix(_ list: [Int], count: Int) -> ArraySlice<Int> {
        count <= 0 || count >= list.count ? list[...] : list[(list.count - count)...]
    }
}
