import Foundation

extension StateDict {
    /// Weights drawn from a fixed seed (He-normal convolutions, identity batch norms), for
    /// timing a configuration whose trained weights are not at hand.
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
            if spec.key.hasSuffix("running_var") || (spec.shape.count == 1 && spec.key.contains(".net.") && spec.key.hasSuffix(".weight")) {
                values = [Float](repeating: 1, count: n)
            } else if spec.shape.count == 1 {
                values = [Float](repeating: 0, count: n)
            } else {
                let fanIn = spec.shape.dropFirst().reduce(1, *)
                let scale = (2.0 / Double(fanIn)).squareRoot()
                values = (0..<n).map { _ in Float(normal() * scale) }
            }
            tensors[spec.key] = StoredTensor(shape: spec.shape, values: values)
        }
        return StateDict(tensors: tensors)
    }
}

