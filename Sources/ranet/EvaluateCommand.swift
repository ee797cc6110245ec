import ArgumentParser
import Foundation
import RANet

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Accuracy and operations of every exit on labeled data; with thresholds, the budgeted result of real early exit.",
        discussion: "Top-1/top-5 per exit as the authors' AnytimeResults. With --thresholds (or --budget), the data is classified again with early exit, timed, and its accuracy, exit histogram and realized operations are reported. With --precision bf16 the data is evaluated in f32 too, and the agreement is reported: per exit the top-1 difference and the share of images with f32's top class, and the share leaving at f32's exit under the thresholds (given, or the model's own).")

    @OptionGroup var source: ModelOptions
    @OptionGroup var engine: EngineOptions
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var thresholdOptions: ThresholdOptions

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Option(help: ArgumentHelp("Write an SVG plot of accuracy against operations (exits and the authors' budget sweep).", valueName: "file.svg"))
    var plot: String?

    @Option(help: "Threads to use (default: all cores).")
    var threads: Int?

    func run() throws {
        let model = try source.load(options: engine.options(threads: threads))
        let data = try dataOptions.open()
        let thresholds = try thresholdOptions.resolve(for: model)
        let progress = ProgressLine(total: data.count, label: "evaluating")
        let evaluation = try AnytimeEvaluation(model: model, data: data, batch: dataOptions.batch, progress: progress.update)
        progress.finish()
        let agreement = try model.options.precision == .f32 ? nil : agreementWithF32(evaluation, of: model, on: data, thresholds: thresholds)
        let budgeted = try thresholds.map { try BudgetedRun(model: model, data: data, thresholds: $0, batch: dataOptions.batch) }
        if let plot {
            let sweep = try BudgetedClassification.sweep(val: evaluation.confidences, valTargets: evaluation.labels,
                                                         test: evaluation.confidences, testTargets: evaluation.labels,
                                                         opsPerExit: model.operationCount.opsPerExit)
            let svg = AccuracyPlot(exits: evaluation.exits, sweep: sweep, measured: budgeted.map { ($0.realizedOps, $0.top1) }).svg
            try writeFileAtomically(Data(svg.utf8), to: URL(fileURLWithPath: plot))
        }
        if json {
            var fields: [String: JSONValue] = [
                "images": .number(Double(evaluation.labels.count)),
                "exits": .array(evaluation.exits.map { .object(["top1": .number($0.top1), "top5": .number($0.top5), "ops": .number($0.ops)]) }),
            ]
            if let budgeted { fields["budgeted"] = budgeted.json }
            fields["precision"] = .string(model.options.precision.rawValue)
            if let agreement {
                var entries: [String: JSONValue] = [
                    "top1_difference": .array(agreement.top1Difference.map { .number($0) }),
                    "same_top_class_percent": .array(agreement.sameTopClass.map { .number($0) }),
                ]
                if let same = agreement.sameExit { entries["same_exit_percent"] = .number(same) }
                fields["agreement_with_f32"] = .object(entries)
            }
            print(JSONValue.object(fields).prettyDescription)
            return
        }
        print("\(evaluation.labels.count) images")
        print("exit  ops (M)   top-1   top-5")
        for (k, e) in evaluation.exits.enumerated() {
            print(String(format: "%4d  %7.2f  %6.2f  %6.2f", k + 1, e.ops / 1e6, e.top1, e.top5))
        }
        if let budgeted { print(""); print(budgeted.text) }
        if let agreement {
            print("\nagreement with f32")
            print("exit  top-1 Δ  same top class")
            for k in agreement.top1Difference.indices {
                print(String(format: "%4d  %+6.2f  %13.2f%%", k + 1, agreement.top1Difference[k], agreement.sameTopClass[k]))
            }
            if let same = agreement.sameExit { print(String(format: "same exit at the thresholds: %.2f%%", same)) }
        }
    }

    /// The same data evaluated by the same model in f32, compared with `evaluation`.
    private func agreementWithF32(_ evaluation: AnytimeEvaluation, of model: RANetModel, on data: LabeledData,
                                  thresholds: ExitThresholds?) throws -> PrecisionAgreement {
        var options = model.options
        options.precision = .f32
        let reference = try RANetModel(config: model.config, stateDict: model.stateDict, metadata: model.metadata, options: options)
        let progress = ProgressLine(total: data.count, label: "evaluating in f32 to compare")
        let f32 = try AnytimeEvaluation(model: reference, data: data, batch: dataOptions.batch, progress: progress.update)
        progress.finish()
        let exitThresholds = thresholds ?? model.metadata.defaultThresholds
        return PrecisionAgreement(evaluation, reference: f32, thresholds: exitThresholds)
    }
}

/// Classifying a data set with real early exit, timed.
struct BudgetedRun {
    let top1: Double
    let realizedOps: Double
    let histogram: [Int]
    let imagesPerSecond: Double
    let thresholds: ExitThresholds

    init(model: RANetModel, data: LabeledData, thresholds: ExitThresholds, batch: Int) throws {
        var correct = 0, ops = 0.0, seconds = 0.0
        var histogram = [Int](repeating: 0, count: model.exitCount)
        try data.forEachInputBatch(for: model, size: batch) { images, labels in
            let start = DispatchTime.now().uptimeNanoseconds
            let predictions = try model.classify(images, thresholds: thresholds)
            seconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            for (p, label) in zip(predictions, labels) {
                if p.label == label { correct += 1 }
                ops += p.operations
                histogram[p.exit] += 1
            }
        }
        top1 = Double(correct) * 100 / Double(data.count)
        realizedOps = ops / Double(data.count)
        self.histogram = histogram
        imagesPerSecond = Double(data.count) / max(seconds, 1e-9)
        self.thresholds = thresholds
    }

    var json: JSONValue {
        .object([
            "top1": .number(top1),
            "realized_ops_per_image": .number(realizedOps),
            "exit_histogram": .array(histogram.map { .number(Double($0)) }),
            "images_per_s": .number(imagesPerSecond),
            "thresholds": .array(thresholds.values.map { .number(Double($0)) }),
        ])
    }

    var text: String {
        String(format: "early exit: top-1 %.2f, %.2fM operations per image, %.0f images/s\n", top1, realizedOps / 1e6, imagesPerSecond)
            + "images leaving at each exit: " + histogram.map(String.init).joined(separator: " ")
    }
}
