import Foundation

/// A class and its softmax probability.
public struct ClassScore: Sendable, Equatable {
    /// The class index.
    public let label: Int
    /// Its softmax probability at the exit the image left at.
    public let probability: Float
}

/// One image's result under early exit.
public struct Prediction: Sendable, Equatable {
    /// The most probable classes at the exit taken, best first (at least one).
    public let top: [ClassScore]
    /// The exit the image left at, counted from 0 as indices are (the paper, the command
    /// line's text and the ONNX outputs `exit_1` … call exit 0 "exit 1").
    public let exit: Int
    /// Operations spent on the image: the authors' count up to that exit.
    public let operations: Double

    /// The predicted class (index into the model's classes).
    public var label: Int { top[0].label }
    /// Its softmax probability at the exit taken.
    public var probability: Float { top[0].probability }
}

extension RANetModel {
    /// A fingerprint of the weights and config, so that thresholds calibrated for one
    /// model are not applied to another.
    public var fingerprint: String { fingerprintStorage.value }

    /// Classifies images with early exit: each image runs exit by exit and stops at the
    /// first exit whose top probability reaches its threshold. Work after that exit is
    /// never done for it, so easy images cost only what their exit costs.
    ///
    /// - Parameters:
    ///   - images: N×3×H×W with H = W = the config's input size.
    ///   - thresholds: one per exit, made for this model (or for no model in particular).
    ///   - top: how many of the most probable classes each prediction lists.
    public func classify(_ images: Tensor, thresholds: ExitThresholds, top: Int = 1) throws -> [Prediction] {
        try thresholds.check(for: self)
        let batch = try checkBatch(images)
        var results = [Prediction?](repeating: nil, count: batch)
        let classes = numClasses
        let stages = exitLayers.indices.map { k in (k == 0 ? 0 : exitLayers[k - 1] + 1)..<(exitLayers[k] + 1) }
        try results.withUnsafeMutableBufferPointer { out in
            let dst = out.baseAddress!
            try runBatch(images, stages: stages, merging: true) { context, exit, slot, image in
                var logits = [Float](repeating: 0, count: classes)
                context.copyLogits(slot: slot, exit: exit, to: &logits)
                dst[image] = self.prediction(logits, exit: exit, thresholds: thresholds, top: top)
                return dst[image] != nil
            }
        }
        return results.map { $0! }
    }

    /// The index of each exit's classifier layer, in exit order.
    var exitLayers: [Int] {
        network.layers.indices.filter { if case .linear = network.layers[$0].operation { return true }; return false }
    }

    /// The prediction an image gets at exit `exit` from that exit's logits, or nil when
    /// it is not confident enough to leave there (the last exit always takes it).
    func prediction(_ logits: [Float], exit: Int, thresholds: ExitThresholds, top: Int) -> Prediction? {
        logits.withUnsafeBufferPointer { p in
            let (label, probability) = Self.top(p.baseAddress!, count: p.count)
            guard probability >= thresholds.values[exit] || exit == exitCount - 1 else { return nil }
            let scores = top <= 1 ? [ClassScore(label: label, probability: probability)] : Self.ranked(p.baseAddress!, count: p.count, top: top)
            return Prediction(top: scores, exit: exit, operations: operationCount.opsPerExit[exit])
        }
    }

    /// The `top` most probable classes of one exit's logits, best first (ties: lower index first).
    static func ranked(_ logits: UnsafePointer<Float>, count: Int, top: Int) -> [ClassScore] {
        let values = Array(UnsafeBufferPointer(start: logits, count: count))
        let best = values.max()!
        let sum = values.reduce(Float(0)) { $0 + expf($1 - best) }
        return values.indices.sorted { values[$0] != values[$1] ? values[$0] > values[$1] : $0 < $1 }
            .prefix(top).map { ClassScore(label: $0, probability: expf(values[$0] - best) / sum) }
    }

    /// The top class of one exit's logits and its softmax probability.
    static func top(_ logits: UnsafePointer<Float>, count: Int) -> (Int, Float) {
        var best = 0
        for c in 1..<count where logits[c] > logits[best] { best = c }
        var sum: Float = 0
        for c in 0..<count { sum += expf(logits[c] - logits[best]) }
        return (best, 1 / sum)
    }
}
