import Foundation

/// Accuracy and cost of every exit on labeled data (the authors' AnytimeResults), with
/// every sample's confidences kept for threshold search.
public struct AnytimeEvaluation: Sendable {
    /// Per exit: top-1 and top-5 accuracy in percent, and operations (authors' counting).
    public struct Exit: Sendable, Equatable {
        /// Top-1 accuracy in percent.
        public let top1: Double
        /// Top-5 accuracy in percent.
        public let top5: Double
        /// Operations to reach this exit.
        public let ops: Double
    }

    /// One entry per exit, in order.
    public let exits: [Exit]
    /// Every sample's top probability and class at every exit.
    public let confidences: ExitConfidences
    /// Every sample's true class, in the data's order.
    public let labels: [Int]

    /// Runs every exit on every sample of `data`, `batch` images at a time.
    /// `progress` is called after each batch with the number of samples done.
    public init(model: RANetModel, data: LabeledData, batch: Int = 64, progress: ((Int) -> Void)? = nil) throws {
        let exitCount = model.exitCount, classes = model.numClasses
        var top1 = [Int](repeating: 0, count: exitCount), top5 = [Int](repeating: 0, count: exitCount)
        var confidence = [[Float]](repeating: [], count: exitCount)
        var prediction = [[Int]](repeating: [], count: exitCount)
        var labels: [Int] = []
        var done = 0
        try data.forEachInputBatch(for: model, size: batch) { images, batchLabels in
            if let bad = batchLabels.first(where: { $0 >= classes }) {
                throw ShapeError("label \(bad) is out of range for a model with \(classes) classes")
            }
            let probs = Softmax.apply(try model.logits(for: images))
            let n = batchLabels.count
            let batchConfidences = try ExitConfidences(probabilities: probs)
            for k in 0..<exitCount {
                for i in 0..<n {
                    let row = probs.values[((k * n + i) * classes)..<((k * n + i + 1) * classes)]
                    let target = row[row.startIndex + batchLabels[i]]
                    // Rank of the true class: how many classes score strictly higher.
                    let higher = row.reduce(0) { $0 + ($1 > target ? 1 : 0) }
                    if higher == 0 && row.firstIndex(of: target)! - row.startIndex == batchLabels[i] { top1[k] += 1 }
                    if higher < 5 { top5[k] += 1 }
                }
                confidence[k] += batchConfidences.confidence[k]
                prediction[k] += batchConfidences.prediction[k]
            }
            labels += batchLabels
            done += n
            progress?(done)
        }
        let n = labels.count
        let ops = model.operationCount.opsPerExit
        exits = (0..<exitCount).map { Exit(top1: Double(top1[$0]) * 100 / Double(n), top5: Double(top5[$0]) * 100 / Double(n), ops: ops[$0]) }
        confidences = ExitConfidences(confidence: confidence, prediction: prediction, classCount: classes)
        self.labels = labels
    }
}
