/// How far one run of a data set (say in ``Precision/bf16``) strays from a reference run
/// of the same model (in ``Precision/f32``): per exit, the top-1 accuracy's difference and
/// how many samples get the same top class; with thresholds, how many leave at the same exit.
///
/// ```swift
/// let f32 = try AnytimeEvaluation(model: model, data: data)
/// let bf16 = try AnytimeEvaluation(model: bf16Model, data: data)
/// let agreement = PrecisionAgreement(bf16, reference: f32, thresholds: thresholds)
/// print(agreement.sameTopClass)   // percent of samples, per exit
/// ```
public struct PrecisionAgreement: Sendable, Equatable {
    /// Per exit: top-1 accuracy in points, this run's minus the reference's.
    public let top1Difference: [Double]
    /// Per exit: percent of samples whose top class is the reference's.
    public let sameTopClass: [Double]
    /// Percent of samples leaving at the exit they leave at in the reference, under the
    /// thresholds given (nil without).
    public let sameExit: Double?

    /// Compares two evaluations of the same samples in the same order.
    public init(_ evaluation: AnytimeEvaluation, reference: AnytimeEvaluation, thresholds: ExitThresholds? = nil) {
        precondition(evaluation.labels == reference.labels, "the two evaluations must cover the same samples")
        let n = Double(max(evaluation.labels.count, 1))
        let (ours, theirs) = (evaluation.confidences, reference.confidences)
        top1Difference = zip(evaluation.exits, reference.exits).map { $0.top1 - $1.top1 }
        sameTopClass = zip(ours.prediction, theirs.prediction).map { a, b in Double(zip(a, b).filter { $0 == $1 }.count) * 100 / n }
        sameExit = thresholds.map { t in
            let a = BudgetedClassification.exits(ours, thresholds: t.values), b = BudgetedClassification.exits(theirs, thresholds: t.values)
            return Double(zip(a, b).filter { $0 == $1 }.count) * 100 / n
        }
    }
}
