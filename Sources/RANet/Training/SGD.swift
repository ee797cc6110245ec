/// Stochastic gradient descent as `torch.optim.SGD` applies it (dampening 0, not Nesterov):
/// the weight decay is added to the gradient, the momentum buffer becomes
/// `momentum·buffer + gradient` (the gradient itself on the first step), and the
/// parameter moves by `−learningRate·buffer`.
public struct SGD: Sendable, Equatable {
    /// The momentum factor (the authors': 0.9).
    public var momentum: Double
    /// L2 penalty added to every parameter's gradient, batch norm's included (the authors': 1e-4).
    public var weightDecay: Double

    /// An optimizer with the authors' defaults.
    public init(momentum: Double = 0.9, weightDecay: Double = 1e-4) {
        self.momentum = momentum
        self.weightDecay = weightDecay
    }

    /// One update of every parameter of `state` from its gradient, at `learningRate`.
    public func step(_ state: TrainingState, learningRate: Float) {
        // float32 arithmetic, as torch's for float32 parameters.
        let momentum = Float(self.momentum), weightDecay = Float(self.weightDecay)
        let first = !state.hasMomentum
        for spec in state.parameterOrder {
            let offset = state.offsets[spec.key]!
            let w = state.values + offset, g = state.gradients + offset, buffer = state.momentum + offset
            for i in 0..<spec.elementCount {
                let d = g[i] + weightDecay * w[i]
                let m = first ? d : momentum * buffer[i] + d
                buffer[i] = m
                w[i] -= learningRate * m
            }
        }
        state.hasMomentum = true
    }
}
