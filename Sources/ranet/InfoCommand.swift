import ArgumentParser
import Foundation
import RANet

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show a network's config, flows, exits, parameter total and operations per exit.",
        discussion: "Operations follow the authors' op_counter, cumulative up to each exit. With --preset no weights are read. --plan shows which backend runs each layer of an image alone, and the times it was chosen by (measured now, or read from the plan cache), with the layer's channels, kernel, stride and maps and the GFLOP/s of the chosen time; with --preset it times random weights.")

    @OptionGroup var source: ModelOptions

    @Option(help: ArgumentHelp("A paper configuration instead of a model: \(RANetConfig.presetNames.joined(separator: ", ")).", valueName: "name"))
    var preset: String?

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Flag(help: "Show the backend of each layer of an image alone and why: the row kernels' and oneDNN's times, with each layer's shape and the rate of the chosen time.")
    var plan = false

    @OptionGroup var engine: EngineOptions

    @Option(help: "Threads a batch of one runs on (default: all cores).")
    var threads: Int?

    func validate() throws {
        if preset != nil && (source.model != nil || source.config != nil) {
            throw ValidationError("give either --preset or --model/--config, not both")
        }
    }

    func run() throws {
        var metadata = ModelMetadata()
        let config: RANetConfig
        if let preset {
            config = try RANetConfig.preset(named: preset)
        } else {
            let contents = try source.read()
            try contents.stateDict.validate(for: try NetworkDescription(config: contents.config))
            config = contents.config
            metadata = contents.metadata
        }
        let network = try NetworkDescription(config: config)
        if plan { return try printPlan(config: config, network: network) }
        let summary = NetworkSummary(network: network, metadata: metadata)
        print(json ? summary.json.prettyDescription : summary.text)
    }

    /// A layer's channels and maps, as `in→out k×k/stride h×w→h×w`.
    private static func shape(of layer: Layer, in network: NetworkDescription) -> String {
        let (input, output) = (network.shape(of: layer.input), network.shape(of: layer.output))
        let window = switch layer.operation {
        case .conv(let unit): " \(unit.kernel)×\(unit.kernel)/\(unit.stride)"
        case .maxPool(let kernel, let stride, _): " \(kernel)×\(kernel)/\(stride)"
        default: ""
        }
        return "\(input.channels)→\(output.channels)\(window) \(input.height)×\(input.width)→\(output.height)×\(output.width)"
    }

    private func printPlan(config: RANetConfig, network: NetworkDescription) throws {
        let options = engine.options(threads: threads)
        let model = try preset != nil
            ? RANetModel(config: config, stateDict: .random(for: network), options: options)
            : source.load(options: options)
        let plan = try model.singleImagePlan()
        if json {
            let layers: [JSONValue] = plan.layers.enumerated().map { i, layer in
                let (input, output) = (network.shape(of: network.layers[i].input), network.shape(of: network.layers[i].output))
                var row: [String: JSONValue] = ["layer": .number(Double(i)), "name": .string(layer.name), "backend": .string(layer.backend.rawValue),
                                                "input": .array([input.channels, input.height, input.width].map { .number(Double($0)) }),
                                                "output": .array([output.channels, output.height, output.width].map { .number(Double($0)) })]
                if let ms = layer.rowsMilliseconds { row["rows_ms"] = .number(ms) }
                if let ms = layer.oneDNNMilliseconds { row["onednn_ms"] = .number(ms) }
                if let ms = layer.oneDNNF32Milliseconds { row["onednn_f32_ms"] = .number(ms) }
                if let reorders = layer.reorders { row["reorders"] = .number(Double(reorders)) }
                return .object(row)
            }
            var object: [String: JSONValue] = ["source": .string(plan.source.rawValue), "threads": .number(Double(plan.threads)),
                                               "single_image": .string(options.singleImages.rawValue),
                                               "precision": .string(options.precision.rawValue), "layers": .array(layers)]
            if let reorders = plan.reorders { object["reorders"] = .number(Double(reorders)) }
            print(JSONValue.object(object).prettyDescription)
            return
        }
        // bf16 plans time oneDNN's f32 kernels on bf16 values too: a column of their own.
        let f32Kernels = options.precision == .bf16
        print("single image in \(options.precision.rawValue), \(plan.threads) thread\(plan.threads == 1 ? "" : "s") for oneDNN's layers, plan \(plan.source.rawValue): " +
              "\(plan.count(.rows)) layers in the row kernels, \(plan.count(.oneDNN) + plan.count(.oneDNNF32)) in oneDNN" +
              (f32Kernels ? " (\(plan.count(.oneDNNF32)) of them on its f32 kernels)" : ""))
        print("layer  backend     rows ms  onednn ms" + (f32Kernels ? "  f32 ms" : "") + "  reorders  shape                        GFLOP/s  name")
        for (i, layer) in plan.layers.enumerated() {
            let measured = [layer.rowsMilliseconds, layer.oneDNNMilliseconds] + (f32Kernels ? [layer.oneDNNF32Milliseconds] : [])
            let times = measured.map { $0.map { String(format: "%7.3f", $0) } ?? "      -" }.joined(separator: "  ")
            let backend = layer.backend.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
            let reorders = layer.reorders.map { String($0) } ?? "-"
            let shape = Self.shape(of: network.layers[i], in: network)
            let rate = OperationCount.multiplyAdds(of: network.layers[i], in: network).flatMap { macs in
                layer.chosenMilliseconds.map { String(format: "%7.1f", 2 * macs / $0 / 1e6) } } ?? "      -"
            print(String(format: "%5d  ", i) + "\(backend)  \(times)  \(String(repeating: " ", count: max(0, 8 - reorders.count)) + reorders)  "
                  + "\(shape.padding(toLength: 27, withPad: " ", startingAt: 0))  \(rate)  \(layer.name)")
        }
        let total = plan.layers.map { $0.chosenMilliseconds ?? 0 }.reduce(0, +)
        if plan.source != .forced { print(String(format: "sum of the chosen layers' times: %.2f ms", total)) }
        if let reorders = plan.reorders {
            print("layout reorders per image: \(reorders), inside oneDNN's layers (none between the backends: both read NCHW)")
        }
    }
}
