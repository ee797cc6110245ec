import Foundation

/// Chooses thresholds for a budget: among the threshold sets of the authors' geometric
/// family (proportions P_k ∝ q^k) over a fine grid of q, plus "everyone at the last exit",
/// the one with the best validation accuracy whose expected operations stay within the
/// budget (ties: the cheaper one).
public enum Calibration {
    /// q from 0.01 to 100, evenly in log scale; the authors' sweep uses q = 0.05…1.95.
    static let ratios: [Float] = (0...400).map { Float(pow(10.0, -2.0 + Double($0) / 100)) }

    /// What thresholds are chosen for.
    public enum Goal: Sendable, Equatable, CustomStringConvertible {
        /// The most accurate thresholds whose average cost fits the budget.
        case budget(Budget)
        /// The cheapest thresholds whose validation top-1 is at most `points` below the
        /// last exit's (every image at the last exit is always a candidate).
        case accuracyWithin(points: Double)

        /// `ranet train`'s default: the cheapest within half a point of the last exit.
        public static let trainingDefault = Goal.accuracyWithin(points: 0.5)

        /// The goal in words.
        public var description: String {
            switch self {
            case .budget(let budget): "a budget of \(budget)"
            case .accuracyWithin(let points): "the cheapest within \(points) points of the last exit's top-1"
            }
        }
    }

    /// The thresholds with the best validation accuracy whose expected cost fits `budget`.
    ///
    /// Searches the authors' geometric family of exit proportions P_k ∝ q^k over a fine grid
    /// of q (never worse than their 39 sets within the budget).
    ///
    /// - Parameters:
    ///   - budget: the average operations per image allowed.
    ///   - validation: every exit's confidences on the validation images.
    ///   - labels: the validation images' classes.
    ///   - opsPerExit: operations to reach each exit (``OperationCount/opsPerExit``).
    ///   - fingerprint: the model's ``RANetModel/fingerprint``, recorded in the result.
    /// - Returns: thresholds with their expected cost and validation accuracy.
    /// - Throws: ``ThresholdError`` when the budget is below the first exit's cost or the
    ///   inputs do not fit each other.
    public static func thresholds(for budget: Budget, validation: ExitConfidences, labels: [Int],
                                  opsPerExit: [Double], fingerprint: String? = nil) throws -> ExitThresholds {
        try thresholds(for: .budget(budget), validation: validation, labels: labels, opsPerExit: opsPerExit, fingerprint: fingerprint)
    }

    /// The thresholds that meet `goal` on the validation confidences, searched over the
    /// authors' geometric family as for a budget.
    ///
    /// - Throws: ``ThresholdError`` when a budget is below the first exit's cost or the
    ///   inputs do not fit each other.
    public static func thresholds(for goal: Goal, validation: ExitConfidences, labels: [Int],
                                  opsPerExit: [Double], fingerprint: String? = nil) throws -> ExitThresholds {
        try BudgetedClassification.checkInputs(validation, labels, opsPerExit, name: "validation")
        let outcomes = candidates(exits: validation.exitCount, validation: validation).map {
            (thresholds: $0, outcome: BudgetedClassification.evaluate(validation, targets: labels, thresholds: $0, opsPerExit: opsPerExit))
        }
        var limit: Double?
        let chosen: (thresholds: [Float], outcome: BudgetedClassification.Outcome)?
        switch goal {
        case .budget(let budget):
            let ops = budget.operations(fullOps: opsPerExit.last!)
            guard ops >= opsPerExit[0] else {
                throw ThresholdError(String(format: "a budget of %.2fM operations is below the first exit's cost (%.2fM)", ops / 1e6, opsPerExit[0] / 1e6))
            }
            limit = ops
            // The most accurate within the budget; on equal accuracy, the cheaper.
            chosen = outcomes.filter { $0.outcome.expectedOps <= ops }.min {
                ($0.outcome.accuracy, -$0.outcome.expectedOps) > ($1.outcome.accuracy, -$1.outcome.expectedOps)
            }
        case .accuracyWithin(let points):
            guard points >= 0, points.isFinite else { throw ThresholdError("the accuracy margin must be a non-negative number of points") }
            let floor = outcomes[outcomes.count - 2].outcome.accuracy - points
            // The cheapest at or above the floor; on equal cost, the more accurate.
            chosen = outcomes.filter { $0.outcome.accuracy >= floor }.min {
                ($0.outcome.expectedOps, -$0.outcome.accuracy) < ($1.outcome.expectedOps, -$1.outcome.accuracy)
            }
        }
        guard let chosen else {
            throw ThresholdError(String(format: "no thresholds meet a budget of %.2fM operations", (limit ?? 0) / 1e6))
        }
        return ExitThresholds(values: chosen.thresholds, modelFingerprint: fingerprint, expectedOps: chosen.outcome.expectedOps,
                              validationAccuracy: chosen.outcome.accuracy, budget: limit)
    }

    /// Every threshold set of the family that no other beats in both accuracy and cost on
    /// the validation data, cheapest first: the operating points a server can move between
    /// as its load changes (each with its expected operations and validation top-1).
    public static func operatingPoints(validation: ExitConfidences, labels: [Int], opsPerExit: [Double],
                                       fingerprint: String? = nil) throws -> [ExitThresholds] {
        try BudgetedClassification.checkInputs(validation, labels, opsPerExit, name: "validation")
        let outcomes = candidates(exits: validation.exitCount, validation: validation).map {
            (thresholds: $0, outcome: BudgetedClassification.evaluate(validation, targets: labels, thresholds: $0, opsPerExit: opsPerExit))
        }.sorted { ($0.outcome.expectedOps, -$0.outcome.accuracy) < ($1.outcome.expectedOps, -$1.outcome.accuracy) }
        var front: [ExitThresholds] = []
        for (thresholds, outcome) in outcomes where outcome.accuracy > (front.last?.validationAccuracy ?? -1) {
            front.append(ExitThresholds(values: thresholds, modelFingerprint: fingerprint, expectedOps: outcome.expectedOps,
                                        validationAccuracy: outcome.accuracy))
        }
        return front
    }

    /// The threshold sets searched: the geometric family over ``ratios``, then every image
    /// at the last exit, then every image at the first.
    private static func candidates(exits: Int, validation: ExitConfidences) -> [[Float]] {
        ratios.map { q in
            BudgetedClassification.thresholds(validation, proportions: BudgetedClassification.geometricProportions(ratio: q, exits: exits))
        } + [
            [Float](repeating: BudgetedClassification.unreachable, count: exits - 1) + [BudgetedClassification.always],
            [Float](repeating: BudgetedClassification.always, count: exits),
        ]
    }
}
