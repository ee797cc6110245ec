import CRANet
import Foundation

/// A RANet being trained: its weights, optimizer state and batch norm statistics, and
/// one training step as the authors' `train()` runs it on a batch (train mode, the sum
/// of the exits' cross-entropies, SGD).
///
/// ```swift
/// let model = try TrainableModel(config: config, stateDict: StateDict.random(for: network))
/// let result = try model.step(images: batch, targets: labels, learningRate: 0.1)
/// print(result.losses)          // one per exit, before the update
/// let trained = model.stateDict // for RANetModel or a checkpoint
/// ```
public final class TrainableModel: @unchecked Sendable {
    /// The network's config.
    public let config: RANetConfig
    /// The network description.
    public let network: NetworkDescription
    /// Weights, gradients, momentum buffers and running statistics.
    public let state: TrainingState
    /// The optimizer.
    public var optimizer: SGD
    /// Threads oneDNN's primitives use.
    public let threads: Int
    /// What computes the convolutions.
    public let convolutions: TrainingConvolutions
    /// Batch norm's running-statistics momentum (torch's default).
    public static let batchNormMomentum: Float = 0.1
    private var graphs: [Int: TrainingGraph] = [:]

    /// What one step measured.
    public struct StepResult: Sendable {
        /// Each exit's loss on the batch, before the update.
        public let losses: [Double]
        /// Each exit's correct top-1 predictions on the batch, before the update.
        public let correct: [Int]
        /// Seconds spent in the forward pass (with the loss), the backward pass and the update.
        public let seconds: (forward: Double, backward: Double, update: Double)
    }

    /// A model to train from `stateDict` (a checkpoint, or ``StateDict/random(for:seed:)``),
    /// continuing an optimizer from `momentumBuffers` (indices of ``TrainingState/parameterOrder``).
    public init(config: RANetConfig, stateDict: StateDict, momentumBuffers: [Int: [Float]] = [:],
                batchesTracked: [String: Int64] = [:], optimizer: SGD = SGD(),
                threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                convolutions: TrainingConvolutions = .fastest) throws {
        self.config = config
        network = try NetworkDescription(config: config)
        state = try TrainingState(network: network, stateDict: stateDict, momentumBuffers: momentumBuffers,
                                  batchesTracked: batchesTracked)
        self.optimizer = optimizer
        self.threads = max(1, threads)
        self.convolutions = convolutions
    }

    /// The weights and running statistics now.
    public var stateDict: StateDict { state.stateDict }

    /// Floats of one input image.
    public var imageFloats: Int { network.tensors[network.inputTensor].elementCount }

    private func graph(batch: Int) throws -> TrainingGraph {
        if let graph = graphs[batch] { return graph }
        // At most two sizes are in use (full batches and the epoch's last one).
        if graphs.count >= 2 { graphs.removeAll() }
        let graph = try TrainingGraph(network: network, batch: batch, threads: threads, convolutions: convolutions)
        graphs[batch] = graph
        return graph
    }

    /// One training step on `images` (batch × 3 × size × size, normalized) with class
    /// indices `targets`: forward in train mode (updating batch norm's running statistics
    /// as torch does), loss, backward, and the optimizer's update at `learningRate`.
    /// Throws ``TrainingError`` for a batch that does not fit or a loss that is not finite
    /// (the weights are then left as they were).
    public func step(images: [Float], targets: [Int], learningRate: Float) throws -> StepResult {
        let batch = targets.count
        guard batch > 0 else { throw TrainingError("a training batch needs at least one image") }
        guard images.count == batch * imageFloats else {
            let size = config.inputSize
            throw TrainingError("a batch of \(batch) images of 3×\(size)×\(size) needs \(batch * imageFloats) values, not \(images.count)")
        }
        if let bad = targets.first(where: { !(0..<config.numClasses).contains($0) }) {
            throw TrainingError("label \(bad) is outside the config's \(config.numClasses) classes (0…\(config.numClasses - 1))")
        }
        let graph = try graph(batch: batch)
        let start = DispatchTime.now().uptimeNanoseconds
        try images.withUnsafeBufferPointer { try graph.forward($0.baseAddress!, state: state) }
        let losses = ExitLoss.evaluate(graph, targets: targets)
        if let exit = losses.firstIndex(where: { !$0.isFinite }) {
            throw TrainingError("the loss of exit \(exit + 1) is \(losses[exit]); the weights were not updated")
        }
        let correct = correctPredictions(graph, targets: targets)
        updateRunningStatistics(graph)
        let forwardEnd = DispatchTime.now().uptimeNanoseconds
        try graph.backward(state: state)
        let backwardEnd = DispatchTime.now().uptimeNanoseconds
        optimizer.step(state, learningRate: learningRate)
        let end = DispatchTime.now().uptimeNanoseconds
        return StepResult(losses: losses, correct: correct,
                          seconds: (Double(forwardEnd - start) / 1e9, Double(backwardEnd - forwardEnd) / 1e9, Double(end - backwardEnd) / 1e9))
    }

    /// The summed loss of every exit on a batch in train mode, without a backward pass or
    /// any change to the state (running statistics included).
    func loss(images: [Float], targets: [Int]) throws -> Double {
        let graph = try graph(batch: targets.count)
        try images.withUnsafeBufferPointer { try graph.forward($0.baseAddress!, state: state) }
        return ExitLoss.evaluate(graph, targets: targets).reduce(0, +)
    }

    /// torch's update, in double as its CPU kernel computes it:
    /// running = m·batch + (1 − m)·running, with the unbiased variance Σ(x − mean)² / (n − 1).
    private func updateRunningStatistics(_ graph: TrainingGraph) {
        let m = Double(Self.batchNormMomentum)
        for (index, layer) in network.layers.enumerated() {
            guard case .conv(let unit) = layer.operation else { continue }
            let t = network.tensors[layer.output.tensor]
            let n = Double(graph.batch * t.height * t.width)
            let (mean, squareSum) = graph.batchStatistics(layer: index)
            let runningMean = state.pointer(unit.bnKey + ".running_mean"), runningVar = state.pointer(unit.bnKey + ".running_var")
            for (c, (bm, bs)) in zip(mean, squareSum).enumerated() {
                runningMean[c] = Float(m * Double(bm) + (1 - m) * Double(runningMean[c]))
                let unbiased = n > 1 ? Double(bs) / (n - 1) : Double(bs)
                runningVar[c] = Float(m * unbiased + (1 - m) * Double(runningVar[c]))
            }
            state.batchesTracked[unit.bnKey, default: 0] += 1
        }
    }

    private func correctPredictions(_ graph: TrainingGraph, targets: [Int]) -> [Int] {
        let classes = config.numClasses
        var correct = [Int](repeating: 0, count: network.exitCount)
        for (n, target) in targets.enumerated() {
            let logits = graph.logits(image: n)
            for k in 0..<network.exitCount {
                let z = UnsafeBufferPointer(start: logits + k * classes, count: classes)
                if z.indices.max(by: { z[$0] < z[$1] }) == target { correct[k] += 1 }
            }
        }
        return correct
    }

    /// The widest vectors oneDNN's kernels use here (512, 256, 128; 0 for arm64's): its
    /// convolutions' sums, and so the last bits of a step, follow from it.
    public static var oneDNNVectorBits: Int { Int(cranet_onednn_vector_bits()) }

    /// Bytes the training graphs hold (activations, gradients, primitives' buffers).
    public var graphBytes: Int { graphs.values.map(\.bytes).reduce(0, +) }

    /// How many of the network's convolutions the row kernels compute (see
    /// ``TrainingConvolutions``) and how many oneDNN computes; nil before the first step.
    public var convolutionsByBackend: (rows: Int, oneDNN: Int)? {
        guard let graph = graphs.values.first else { return nil }
        let total = network.layers.filter { if case .conv = $0.operation { true } else { false } }.count
        return (graph.rowConvolutions, total - graph.rowConvolutions)
    }
}

/// Training input that does not fit, or a step that failed.
public struct TrainingError: Error, CustomStringConvertible {
    /// What went wrong, in one line.
    public let message: String
    /// An error with this message.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}
