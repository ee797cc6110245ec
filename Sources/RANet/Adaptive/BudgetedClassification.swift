import Foundation

/// The authors' budgeted batch classification (`adaptive_inference.py` of RANet and
/// MSDNet), reproduced operation for operation, in float32 where they compute in float32.
///
/// For a proportion vector P (share of samples meant to leave at each exit), thresholds
/// come from validation confidences: for each exit k < K, walk the samples by descending
/// confidence, counting only those no earlier exit has taken; the confidence of the
/// ⌊N·P_k⌋-th is T_k (10⁸ if never reached); then every sample with confidence ≥ T_k is
/// taken. T_K = −10⁸. A sample leaves at the first exit whose confidence reaches T_k.
public enum BudgetedClassification {
    /// Threshold of an exit that no sample reaches, and of the last exit.
    public static let unreachable: Float = 1e8
    /// A threshold every image reaches: the last exit's, so that every image leaves by then.
    public static let always: Float = -1e8

    /// The authors' geometric proportions for sweep step p: q = p/20, P_k ∝ q^k.
    public static func geometricProportions(step p: Int, exits: Int) -> [Float] {
        geometricProportions(ratio: Float(Double(p) / 20), exits: exits)
    }

    /// P_k = q^k / Σ_j q^j for k = 1…exits, as `exp(log(q)·k)` in float32.
    public static func geometricProportions(ratio q: Float, exits: Int) -> [Float] {
        let logQ = logf(q)
        let terms = (1...max(exits, 1)).map { expf(logQ * Float($0)) }
        let sum = terms.reduce(Float(0), +)
        return terms.map { $0 / sum }
    }

    /// Thresholds from validation confidences and exit proportions.
    public static func thresholds(_ val: ExitConfidences, proportions: [Float]) -> [Float] {
        let exits = val.exitCount, samples = val.sampleCount
        var thresholds = [Float](repeating: unreachable, count: exits)
        var taken = [Bool](repeating: false, count: samples)
        for k in 0..<(exits - 1) {
            let wanted = Int((Float(samples) * proportions[k]).rounded(.down))
            var count = 0
            for i in val.descendingOrder[k] where !taken[i] {
                count += 1
                if count == wanted {
                    thresholds[k] = val.confidence[k][i]
                    break
                }
            }
            for i in 0..<samples where val.confidence[k][i] >= thresholds[k] { taken[i] = true }
        }
        thresholds[exits - 1] = always
        return thresholds
    }

    /// The exit each sample leaves at under `thresholds`.
    public static func exits(_ data: ExitConfidences, thresholds: [Float]) -> [Int] {
        (0..<data.sampleCount).map { i in
            (0..<data.exitCount).first { data.confidence[$0][i] >= thresholds[$0] } ?? data.exitCount - 1
        }
    }

    /// What thresholds give on labeled data.
    public struct Outcome: Sendable, Equatable {
        /// Top-1 accuracy in percent.
        public let accuracy: Double
        /// Average operations per sample: Σ_k (share leaving at k) · ops(k).
        public let expectedOps: Double
        /// Samples leaving at each exit.
        public let exitCounts: [Int]
    }

    /// Accuracy, expected operations and exit counts of `thresholds` on labeled confidences,
    /// with the expected cost summed in float32 as the authors' code does.
    public static func evaluate(_ data: ExitConfidences, targets: [Int], thresholds: [Float], opsPerExit: [Double]) -> Outcome {
        let leave = exits(data, thresholds: thresholds)
        var counts = [Int](repeating: 0, count: data.exitCount)
        var correct = 0
        for (i, k) in leave.enumerated() {
            counts[k] += 1
            if data.prediction[k][i] == targets[i] { correct += 1 }
        }
        let n = data.sampleCount
        // float32 as in the authors' code: share = count / n, ops += share · ops(k).
        var expected: Float = 0
        for k in 0..<data.exitCount { expected += Float(counts[k]) / Float(n) * Float(opsPerExit[k]) }
        return Outcome(accuracy: n == 0 ? 0 : Double(correct) * 100.0 / Double(n), expectedOps: Double(expected), exitCounts: counts)
    }

    /// One row of the authors' sweep (their `dynamic.txt`, with validation accuracy).
    public struct SweepRow: Sendable, Equatable {
        /// The sweep's step: proportions follow the geometric family with ratio p / 20.
        public let p: Int
        /// The share of images meant to leave at each exit.
        public let proportions: [Float]
        /// Each exit's threshold, found on the validation confidences.
        public let thresholds: [Float]
        /// Top-1 accuracy in percent on the validation set.
        public let valAccuracy: Double
        /// Top-1 accuracy in percent on the test set.
        public let testAccuracy: Double
        /// Average operations per test image.
        public let testExpectedOps: Double

        /// The JSON row, with the field names of the reference `expected.json`.
        public var json: JSONValue {
            .object([
                "p": .number(Double(p)),
                "exit_proportions": .array(proportions.map { .number(Double($0)) }),
                "thresholds": .array(thresholds.map { .number(Double($0)) }),
                "val_accuracy": .number(valAccuracy),
                "test_accuracy": .number(testAccuracy),
                "test_expected_ops": .number(testExpectedOps),
            ])
        }
    }

    /// The authors' sweep, p = 1…39: thresholds from validation data, evaluated on test data.
    public static func sweep(val: ExitConfidences, valTargets: [Int], test: ExitConfidences, testTargets: [Int],
                             opsPerExit: [Double], steps: ClosedRange<Int> = 1...39) throws -> [SweepRow] {
        try checkInputs(val, valTargets, opsPerExit, name: "validation")
        try checkInputs(test, testTargets, opsPerExit, name: "test")
        guard val.exitCount == test.exitCount else {
            throw ShapeError("validation data has \(val.exitCount) exits but test data has \(test.exitCount)")
        }
        return steps.map { p in
            let proportions = geometricProportions(step: p, exits: val.exitCount)
            let thresholds = thresholds(val, proportions: proportions)
            let valOutcome = evaluate(val, targets: valTargets, thresholds: thresholds, opsPerExit: opsPerExit)
            let testOutcome = evaluate(test, targets: testTargets, thresholds: thresholds, opsPerExit: opsPerExit)
            return SweepRow(p: p, proportions: proportions, thresholds: thresholds, valAccuracy: valOutcome.accuracy,
                            testAccuracy: testOutcome.accuracy, testExpectedOps: testOutcome.expectedOps)
        }
    }

    /// Refuses data the search cannot use: no samples, label counts or exit counts that differ.
    static func checkInputs(_ data: ExitConfidences, _ targets: [Int], _ ops: [Double], name: String) throws {
        guard data.sampleCount > 0 else { throw ShapeError("the \(name) data is empty") }
        guard targets.count == data.sampleCount else {
            throw ShapeError("\(name) data has \(data.sampleCount) samples but \(targets.count) labels")
        }
        if let bad = targets.first(where: { $0 < 0 || $0 >= data.classCount }) {
            throw ShapeError("\(name) label \(bad) is out of range for \(data.classCount) classes")
        }
        guard ops.count == data.exitCount else {
            throw ShapeError("\(ops.count) operation counts given for \(data.exitCount) exits")
        }
    }
}
