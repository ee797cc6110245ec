import ArgumentParser
import Foundation
import RANet

struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Choose early-exit thresholds that meet an average budget on validation data, and save them.",
        discussion: "Among the threshold sets of the authors' geometric family (over a fine grid of its ratio), the one with the best validation accuracy whose expected operations stay within the budget.")

    @OptionGroup var source: ModelOptions
    @OptionGroup var engine: EngineOptions
    @OptionGroup var dataOptions: DataOptions

    @Option(help: ArgumentHelp("Average operations per image: 20M, 1.5G, 350000, or 0.4x of the full network.", valueName: "ops"))
    var budget: String

    @Option(help: ArgumentHelp("The thresholds file to write (JSON).", valueName: "file.json"))
    var output: String

    @Option(help: "Threads to use (default: all cores).")
    var threads: Int?

    func run() throws {
        let parsedBudget = try Budget(parsing: budget)
        let model = try source.load(options: engine.options(threads: threads))
        let data = try dataOptions.open()
        let progress = ProgressLine(total: data.count, label: "evaluating")
        let evaluation = try AnytimeEvaluation(model: model, data: data, batch: dataOptions.batch, progress: progress.update)
        progress.finish()
        let thresholds = try Calibration.thresholds(for: parsedBudget, validation: evaluation.confidences, labels: evaluation.labels,
                                                    opsPerExit: model.operationCount.opsPerExit, fingerprint: model.fingerprint)
        try thresholds.write(to: URL(fileURLWithPath: output))
        print(String(format: "wrote %@: %.2fM operations per image on average (budget %.2fM), validation top-1 %.2f",
                     output, (thresholds.expectedOps ?? 0) / 1e6, (thresholds.budget ?? 0) / 1e6, thresholds.validationAccuracy ?? 0))
        print("thresholds: " + thresholds.values.map { String(format: "%.4g", $0) }.joined(separator: " "))
    }
}
