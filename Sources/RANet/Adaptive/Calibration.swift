import Foundation

/// Chooses thresholds for a budget: among the threshold sets of the authors' geometric
/// family (proportions P_k ∝ q^k) over a fine grid of q, plus "everyone at the last exit",
/// the one with the best validation accuracy whose expected operations stay within the
/// budget (ties: the cheaper one).
public enum Calibration {
    /// q from 0.01 to 100, evenly in log scale; the authors' sweep uses q = 0.05…1.95.
    static let ratios: [Float] = (0...400).map { Float(pow(10.0, -2.0 + Double($0) / 100)) }

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
        try BudgetedClassification.checkInputs(validation, labels, opsPerExit, name: "validation")
        let limit = budget.operations(fullOps: opsPerExit.last!)
        guard limit >= opsPerExit[0] else {
            throw ThresholdError(String(format: "a budget of %.2fM operations is below the first exit's cost (%.2fM)", limit / 1e6, opsPerExit[0] / 1e6))
        }
        let exits = validation.exitCount
        var candidates = ratios.map { q in
            BudgetedClassification.thresholds(validation, proportions: BudgetedClassification.geometricProportions(ratio: q, exits: exits))
        }
        candidates.append([Float](repeating: BudgetedClassification.unreachable, count: exits - 1) + [BudgetedClassification.always])
        candidates.append([Float](repeating: BudgetedClassification.always, count: exits))
        var best: (thresholds: [Float], outcome: BudgetedClassification.Outcome)?
        for t in candidates {
            let outcome = BudgetedClassification.evaluate(validation, targets: labels, thresholds: t, opsPerExit: opsPerExit)
            guard outcome.expectedOps <= limit else { continue }
            if let b = best, b.outcome.accuracy > outcome.accuracy
                || (b.outcome.accuracy == outcome.accuracy && b.outcome.expectedOps <= outcome.expectedOps) { continue }
            best = (t, outcome)
        }
        guard let chosen = best else {
            throw ThresholdError(String(format: "no thresholds meet a budget of %.2fM operations", limit / 1e6))
        }
        return ExitThresholds(values: chosen.thresholds, modelFingerprint: fingerprint, expectedOps: chosen.outcome.expectedOps,
                              validationAccuracy: chosen.outcome.accuracy, budget: limit)
    }
}
