/// The authors' op_counter, on one image: what every FLOPs figure of the paper means.
///
/// conv = Cin·Cout·k·k·Hout·Wout; ReLU = elements of its input; max and average pool =
/// C·Hout·Wout·k·k; Linear = weight plus bias elements; batch norm, resize and
/// concatenation cost nothing. An exit's figure is the running total when its Linear
/// runs, so it includes everything computed before it, earlier exits too.
public struct OperationCount: Sendable, Equatable {
    /// Operations up to and including each exit (cumulative).
    public let opsPerExit: [Double]
    /// Parameters used up to and including each exit (cumulative), as op_counter reports them.
    public let paramsPerExit: [Int]
    /// All learned parameters of the network.
    public let paramsTotal: Int

    /// Counts `network`'s operations and parameters as the authors' op_counter does.
    public init(_ network: NetworkDescription) {
        var ops = 0.0
        var params = 0
        var opsPerExit: [Double] = []
        var paramsPerExit: [Int] = []
        for layer in network.layers {
            let out = network.shape(of: layer.output)
            let outElements = Double(out.channels * out.height * out.width)
            switch layer.operation {
            case .conv:
                ops += Self.multiplyAdds(of: layer, in: network)!  // convolution
                ops += outElements  // ReLU on its output
            case .maxPool(let kernel, _, _):
                ops += outElements * Double(kernel * kernel)
            case .avgPool(let kernel):
                ops += outElements * Double(kernel * kernel)
            case .linear:
                ops += Self.multiplyAdds(of: layer, in: network)! + Double(layer.output.channels)  // weights and bias
            case .resize:
                break
            }
            params += network.parameters(of: layer).filter(\.isTrainable).reduce(0) { $0 + $1.elementCount }
            if case .linear = layer.operation {
                opsPerExit.append(ops)
                paramsPerExit.append(params)
            }
        }
        self.opsPerExit = opsPerExit
        self.paramsPerExit = paramsPerExit
        paramsTotal = params
    }

    /// The multiply-adds of one of `network`'s convolutions (Cin·Cout·k·k·Hout·Wout) or
    /// classifiers (Cin·Cout) on one image; nil for the layers without weights.
    public static func multiplyAdds(of layer: Layer, in network: NetworkDescription) -> Double? {
        let out = network.shape(of: layer.output)
        switch layer.operation {
        case .conv(let unit): return Double(layer.input.channels * unit.kernel * unit.kernel) * Double(out.channels * out.height * out.width)
        case .linear: return Double(layer.input.channels * layer.output.channels)
        case .resize, .maxPool, .avgPool: return nil
        }
    }
}
