/// Batch norm folded into the convolution before it, once at load time:
/// with s = γ / √(var + ε), W' = s·W (per output channel) and b' = s·(b − mean) + β.
enum WeightFolding {
    /// PyTorch's BatchNorm2d default, used by every batch norm of RANet.
    static let epsilon = 1e-5

    static func fold(_ unit: ConvUnit, outputs: Int, stateDict: StateDict) -> (weights: [Float], bias: [Float]) {
        let t = stateDict.tensors
        let weights = t[unit.convKey + ".weight"]!.values
        let convBias = unit.hasBias ? t[unit.convKey + ".bias"]!.values : [Float](repeating: 0, count: outputs)
        let gamma = t[unit.bnKey + ".weight"]!.values, beta = t[unit.bnKey + ".bias"]!.values
        let mean = t[unit.bnKey + ".running_mean"]!.values, variance = t[unit.bnKey + ".running_var"]!.values
        let perOutput = weights.count / outputs
        var folded = [Float](repeating: 0, count: weights.count)
        var bias = [Float](repeating: 0, count: outputs)
        for o in 0..<outputs {
            let scale = Double(gamma[o]) / (Double(variance[o]) + epsilon).squareRoot()
            for i in 0..<perOutput {
                folded[o * perOutput + i] = Float(Double(weights[o * perOutput + i]) * scale)
            }
            bias[o] = Float((Double(convBias[o]) - Double(mean[o])) * scale + Double(beta[o]))
        }
        return (folded, bias)
    }
}
