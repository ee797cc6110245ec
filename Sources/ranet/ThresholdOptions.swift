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
        if let thresholds {
            let t = try ExitThresholds.read(contentsOf: URL(fileURLWithPath: thresholds))
            try t.check(for: model)
            return t
        }
        guard let budget, let calibrationData else { return nil }
        let data = try LabeledData.open(URL(fileURLWithPath: calibrationData), indices: calibrationIndices.map { URL(fileURLWithPath: $0) })
        let progress = ProgressLine(total: data.count, label: "calibrating")
        let evaluation = try AnytimeEvaluation(model: model, data: data, progress: progress.update)
        progress.finish()
        return try Calibration.thresholds(for: try Budget(parsing: budget), validation: evaluation.confidences, labels: evaluation.labels,
                                          opsPerExit: model.operationCount.opsPerExit, fingerprint: model.fingerprint)
    }
}
