import Foundation

/// Per exit and sample: the top softmax probability (the confidence that decides an
/// early exit) and the class it belongs to.
public struct ExitConfidences: Sendable {
    /// `confidence[k][i]`: exit k's largest probability for sample i.
    public let confidence: [[Float]]
    /// `prediction[k][i]`: the class of that probability (first one on ties, as torch's max).
    public let prediction: [[Int]]
    /// Number of classes the predictions range over.
    public let classCount: Int
    /// Per exit, the samples by descending confidence; ties keep index order (as a
    /// stable sort would, and torch's sort does on distinct values).
    public let descendingOrder: [[Int]]

    /// Number of exits.
    public var exitCount: Int { confidence.count }
    /// Number of samples.
    public var sampleCount: Int { confidence.first?.count ?? 0 }

    /// From per-exit confidences and predictions (each exits × N).
    public init(confidence: [[Float]], prediction: [[Int]], classCount: Int) {
        self.confidence = confidence
        self.prediction = prediction
        self.classCount = classCount
        descendingOrder = confidence.map { c in
            c.indices.sorted { c[$0] != c[$1] ? c[$0] > c[$1] : $0 < $1 }
        }
    }

    /// From softmax probabilities, exits × N × classes. NaN values are refused.
    public init(probabilities: Tensor) throws {
        guard probabilities.shape.count == 3, probabilities.shape[2] > 0 else {
            throw ShapeError("probabilities must be exits×N×classes, got shape \(probabilities.shape)")
        }
        let (exits, samples, classes) = (probabilities.shape[0], probabilities.shape[1], probabilities.shape[2])
        var confidence = [[Float]](repeating: [Float](repeating: 0, count: samples), count: exits)
        var prediction = [[Int]](repeating: [Int](repeating: 0, count: samples), count: exits)
        for k in 0..<exits {
            for i in 0..<samples {
                let base = (k * samples + i) * classes
                var best = 0
                for c in 0..<classes {
                    let v = probabilities.values[base + c]
                    guard !v.isNaN else { throw ShapeError("probability of exit \(k), sample \(i), class \(c) is NaN") }
                    if v > probabilities.values[base + best] { best = c }
                }
                confidence[k][i] = probabilities.values[base + best]
                prediction[k][i] = best
            }
        }
        self.init(confidence: confidence, prediction: prediction, classCount: classes)
    }

    /// From logits, exits × N × classes: softmax per exit and sample first.
    public init(logits: Tensor) throws {
        try self.init(probabilities: Softmax.apply(logits))
    }
}

/// Softmax over the last axis, computed stably (subtracting the maximum first).
public enum Softmax {
    /// The softmax over the last dimension of `logits` (exits × N × classes).
    public static func apply(_ logits: Tensor) -> Tensor {
        guard let classes = logits.shape.last, classes > 0 else { return logits }
        var out = logits
        out.values.withUnsafeMutableBufferPointer { v in
            for row in 0..<(v.count / classes) {
                let base = row * classes
                var top = v[base]
                for c in 1..<classes { top = max(top, v[base + c]) }
                var sum: Float = 0
                for c in 0..<classes {
                    v[base + c] = expf(v[base + c] - top)
                    sum += v[base + c]
                }
                for c in 0..<classes { v[base + c] /= sum }
            }
        }
        return out
    }
}
