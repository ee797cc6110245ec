import ArgumentParser
import Foundation
import RANet

/// Early-exit thresholds on the command line: a file, or a budget calibrated on the spot.
struct ThresholdOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A thresholds file written by `ranet calibrate`.", valueName: "file"))
    var thresholds: String?

    @Option(help: ArgumentHelp("An average budget per image (20M, 1.5G, 0.4x of the full network); needs --calibration-data.", valueName: "ops"))
    var budget: String?

    @Option(help: ArgumentHelp("Labeled data to calibrate --budget on (IDX or CIFAR binary).", valueName: "file"))
    var calibrationData: String?

    @Option(help: ArgumentHelp("An int64 .npy selecting the calibration records.", valueName: "file"))
    var calibrationIndices: String?

    var isEmpty: Bool { thresholds == nil && budget == nil }

    func validate() throws {
        if thresholds != nil && budget != nil { throw ValidationError("give either --thresholds or --budget, not both") }
        if budget != nil && calibrationData == nil { throw ValidationError("--budget needs --calibration-data to choose thresholds on") }
    }

    /// The thresholds to use with `model`, or nil when none were asked for.
    func resolve(for model: RANetModel) throws -> ExitThresholds? {
        if let thresholds { return try Self.read(thresholds, for: model) }
        guard let budget, let calibrationData else { return nil }
        let evaluation = try Self.evaluate(model, on: calibrationData, indices: calibrationIndices, label: "calibrating")
        return try Calibration.thresholds(for: try Budget(parsing: budget), validation: evaluation.confidences, labels: evaluation.labels,
                                          opsPerExit: model.operationCount.opsPerExit, fingerprint: model.fingerprint)
    }

    /// A thresholds file, checked against `model`.
    static func read(_ file: String, for model: RANetModel) throws -> ExitThresholds {
        let thresholds = try ExitThresholds.read(contentsOf: URL(fileURLWithPath: file))
        try thresholds.check(for: model)
        return thresholds
    }

    /// Every exit of `model` on labeled calibration data, with a progress line.
    static func evaluate(_ model: RANetModel, on file: String, indices: String?, label: String) throws -> AnytimeEvaluation {
        let data = try LabeledData.open(URL(fileURLWithPath: file), indices: indices.map { URL(fileURLWithPath: $0) })
        let progress = ProgressLine(total: data.count, label: label)
        let evaluation = try AnytimeEvaluation(model: model, data: data, progress: progress.update)
        progress.finish()
        return evaluation
    }
}
