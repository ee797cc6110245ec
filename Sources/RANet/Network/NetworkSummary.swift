import Foundation

/// A readable account of a network: config, flows, exits, parameters and operations.
public struct NetworkSummary: Sendable {
    /// The network described.
    public let network: NetworkDescription
    /// Class names and preprocessing, when a model has them.
    public let metadata: ModelMetadata
    /// Parameters and operations per exit.
    public let count: OperationCount
    /// The planned activation memory of one image.
    public let plan: ExecutionPlan

    /// The summary of a network, with a model's metadata when there is one.
    public init(network: NetworkDescription, metadata: ModelMetadata = ModelMetadata()) {
        self.network = network
        self.metadata = metadata
        count = OperationCount(network)
        plan = ExecutionPlan(network: network)
    }

    /// Plain text for a terminal.
    public var text: String {
        let c = network.config
        var lines = [
            "RANet (\(c.data.rawValue) head): \(c.flowCount) flows, \(c.exitCount) exits, \(grouped(count.paramsTotal)) parameters",
            "input 3×\(c.inputSize)×\(c.inputSize), \(c.numClasses) classes" + (metadata.classes.map { ": " + $0.joined(separator: ", ") } ?? ""),
            "config: nChannels=\(c.nChannels) growthRate=\(c.growthRate) step=\(c.step) stepmode=\(c.stepMode.rawValue) "
                + "scale_list=\(dashed(c.scaleList)) grFactor=\(dashed(c.grFactor)) bnFactor=\(dashed(c.bnFactor)) "
                + "nBlocks=\(c.nBlocks) block_step=\(c.blockStep) compress_factor=\(c.compressFactor) reduction=\(c.reduction)",
            String(format: "activations: %.2f MB per image in one planned arena (%.2f MB without reuse)",
                   Double(plan.arenaFloats * 4) / 1e6, Double(plan.unsharedFloats * 4) / 1e6),
            "",
            "flow  scale  resolution  channels  blocks  exits",
        ]
        for f in 0..<c.flowCount {
            let (h, w) = network.flowResolutions[f]
            let exits = network.exitLocations.enumerated().filter { $0.element.flow == f }.map { String($0.offset + 1) }
            lines.append(pad(f + 1, 4) + "  " + pad(c.scaleList[f], 5) + "  " + pad("\(h)×\(w)", 10) + "  "
                         + pad(c.nChannels * c.grFactor[f], 8) + "  " + pad(c.blocksPerFlow[f], 6) + "  " + exits.joined(separator: ","))
        }
        lines += ["", "exit  flow  block  channels  ops (cumulative)  params (cumulative)"]
        for (k, location) in network.exitLocations.enumerated() {
            lines.append(pad(k + 1, 4) + "  " + pad(location.flow + 1, 4) + "  " + pad(location.block, 5) + "  " + pad(location.channels, 8) + "  "
                         + pad(String(format: "%.2f M", count.opsPerExit[k] / 1e6), 16) + "  " + pad(grouped(count.paramsPerExit[k]), 19))
        }
        return lines.joined(separator: "\n")
    }

    /// JSON for tools: `exits`, `params_total`, `ops_per_exit`, `num_classes`, `input_size`,
    /// `arena_bytes_per_image`, `config`, `flows`, `exit_locations`, `params_per_exit`, and
    /// `classes` when known. Lists are in exit (or flow) order; the `flow` of an exit location
    /// counts from 0 and its `block` from 1, as the authors' code indexes them, while the
    /// text form numbers exits and flows from 1.
    public var json: JSONValue {
        let c = network.config
        var fields: [String: JSONValue] = [
            "exits": .number(Double(c.exitCount)),
            "params_total": .number(Double(count.paramsTotal)),
            "ops_per_exit": .array(count.opsPerExit.map { .number($0) }),
            "params_per_exit": .array(count.paramsPerExit.map { .number(Double($0)) }),
            "num_classes": .number(Double(c.numClasses)),
            "input_size": .number(Double(c.inputSize)),
            "arena_bytes_per_image": .number(Double(plan.arenaFloats * 4)),
            "config": c.jsonValue,
            "flows": .array((0..<c.flowCount).map { f in
                .object([
                    "scale": .number(Double(c.scaleList[f])),
                    "height": .number(Double(network.flowResolutions[f].height)),
                    "width": .number(Double(network.flowResolutions[f].width)),
                    "channels": .number(Double(c.nChannels * c.grFactor[f])),
                    "blocks": .number(Double(c.blocksPerFlow[f])),
                ])
            }),
            "exit_locations": .array(network.exitLocations.map {
                .object(["flow": .number(Double($0.flow)), "block": .number(Double($0.block)), "channels": .number(Double($0.channels))])
            }),
        ]
        if let classes = metadata.classes { fields["classes"] = .array(classes.map { .string($0) }) }
        return .object(fields)
    }

    private func dashed(_ list: [Int]) -> String { list.map(String.init).joined(separator: "-") }
    private func pad(_ value: Any, _ width: Int) -> String {
        let s = "\(value)"
        return String(repeating: " ", count: max(0, width - s.count)) + s
    }
    private func grouped(_ n: Int) -> String {
        let digits = Array(String(n))
        return String(digits.enumerated().flatMap { i, d in (i > 0 && (digits.count - i) % 3 == 0) ? [",", d] : [d] })
    }
}
