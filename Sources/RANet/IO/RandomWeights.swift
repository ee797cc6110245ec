import Foundation

extension StateDict {
    /// Weights drawn from a fixed seed as the authors' `_init_weights` draws them:
    /// convolutions of the flows and exits normal with standard deviation √(2 / (k·k·out)),
    /// batch norms the identity (weight 1, bias 0, running mean 0, variance 1), linear
    /// layers uniform ±1/√in with zero bias, and the stem (which their initialization
    /// skips) torch's defaults: uniform ±1/√fan-in weights and bias. The start of training from scratch, and
    /// weights for timing a configuration whose trained ones are not at hand.
    public static func random(for network: NetworkDescription, seed: UInt64 = 42) -> StateDict {
        var state = seed | 1
        func uniform() -> Double {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return (Double(state >> 11) + 0.5) / Double(1 << 53)
        }
        func normal() -> Double { (-2 * log(uniform())).squareRoot() * cos(2 * .pi * uniform()) }
        var tensors: [String: StoredTensor] = [:]
        for spec in network.parameters {
            let n = spec.elementCount
            let values: [Float]
            if spec.key.hasSuffix("running_var") || (spec.shape.count == 1 && spec.key.hasSuffix(".weight")) {
                values = [Float](repeating: 1, count: n)
            } else if spec.key.hasPrefix("FirstLayer.") && spec.key.hasSuffix(".bias") && !spec.key.hasSuffix(".1.bias") {
                // The ImageNet stem's convolution bias: torch's default, uniform ±1/√fan-in.
                let stem = network.parameters.first { $0.key == spec.key.dropLast("bias".count) + "weight" }!
                let bound = 1 / Double(stem.shape.dropFirst().reduce(1, *)).squareRoot()
                values = (0..<n).map { _ in Float((2 * uniform() - 1) * bound) }
            } else if spec.shape.count == 1 {
                values = [Float](repeating: 0, count: n)
            } else if spec.shape.count == 2 || spec.key.hasPrefix("FirstLayer.") {
                // Linear weights, and the stem's convolutions, which the authors' _init_weights
                // leaves alone: torch's default, uniform ±1/√fan-in.
                let bound = 1 / Double(spec.shape.dropFirst().reduce(1, *)).squareRoot()
                values = (0..<n).map { _ in Float((2 * uniform() - 1) * bound) }
            } else {
                let fanOut = spec.shape[0] * spec.shape[2] * spec.shape[3]
                let scale = (2.0 / Double(fanOut)).squareRoot()
                values = (0..<n).map { _ in Float(normal() * scale) }
            }
            tensors[spec.key] = StoredTensor(shape: spec.shape, values: values)
        }
        return StateDict(tensors: tensors)
    }
}

