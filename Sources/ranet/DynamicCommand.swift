import ArgumentParser
import Foundation
import RANet

struct DynamicCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dynamic",
        abstract: "The authors' budgeted-classification sweep (p = 1…39): thresholds on validation data, accuracy and expected operations on test data.",
        discussion: "Either precomputed softmax outputs (--val-probs, --val-targets, --test-probs, --test-targets, with --ops-per-exit or --model) or a model with labeled validation and test data.")

    @Option(help: ArgumentHelp("A model (for its operation counts, or to compute the outputs).", valueName: "path"))
    var model: String?
    @Option(help: ArgumentHelp("Config of a checkpoint given with --model.", valueName: "file-or-preset"))
    var config: String?

    @Option(help: ArgumentHelp("Validation softmax outputs, exits×N×classes float32 .npy.", valueName: "file"))
    var valProbs: String?
    @Option(help: ArgumentHelp("Validation labels, N float32 or int64 .npy.", valueName: "file"))
    var valTargets: String?
    @Option(help: ArgumentHelp("Test softmax outputs, exits×N×classes float32 .npy.", valueName: "file"))
    var testProbs: String?
    @Option(help: ArgumentHelp("Test labels, N float32 or int64 .npy.", valueName: "file"))
    var testTargets: String?
    @Option(help: ArgumentHelp("Operations of each exit, a JSON list.", valueName: "json"))
    var opsPerExit: String?

    @Option(help: ArgumentHelp("Labeled validation data (IDX or CIFAR binary), with --model.", valueName: "file"))
    var valData: String?
    @Option(help: ArgumentHelp("An int64 .npy selecting validation records.", valueName: "file"))
    var valIndices: String?
    @Option(help: ArgumentHelp("Labeled test data (IDX or CIFAR binary), with --model.", valueName: "file"))
    var testData: String?
    @Option(help: ArgumentHelp("An int64 .npy selecting test records.", valueName: "file"))
    var testIndices: String?

    @Flag(help: "Print the rows as a JSON list.")
    var json = false

    func validate() throws {
        let precomputed = [valProbs, valTargets, testProbs, testTargets]
        if precomputed.contains(where: { $0 != nil }) {
            guard !precomputed.contains(where: { $0 == nil }) else {
                throw ValidationError("--val-probs, --val-targets, --test-probs and --test-targets go together")
            }
            guard opsPerExit != nil || model != nil else { throw ValidationError("give --ops-per-exit or --model for the operation counts") }
        } else {
            guard model != nil, valData != nil, testData != nil else {
                throw ValidationError("give precomputed outputs (--val-probs ...) or --model with --val-data and --test-data")
            }
        }
    }

    func run() throws {
        let rows: [BudgetedClassification.SweepRow]
        if let valProbs, let valTargets, let testProbs, let testTargets {
            let ops = try operationCounts()
            rows = try BudgetedClassification.sweep(
                val: try ExitConfidences(probabilities: NpyFile.readFloat32(contentsOf: URL(fileURLWithPath: valProbs))),
                valTargets: try Self.labels(valTargets),
                test: try ExitConfidences(probabilities: NpyFile.readFloat32(contentsOf: URL(fileURLWithPath: testProbs))),
                testTargets: try Self.labels(testTargets), opsPerExit: ops)
        } else {
            let loaded = try ModelOptions(model: model, config: config).load(options: RANetModel.Options())
            let val = try evaluate(loaded, valData!, valIndices, "validation")
            let test = try evaluate(loaded, testData!, testIndices, "test")
            rows = try BudgetedClassification.sweep(val: val.confidences, valTargets: val.labels, test: test.confidences,
                                                    testTargets: test.labels, opsPerExit: loaded.operationCount.opsPerExit)
        }
        if json {
            print(JSONValue.array(rows.map(\.json)).prettyDescription)
        } else {
            print(" p   val acc  test acc  test ops (M)")
            for r in rows { print(String(format: "%2d  %8.3f  %8.3f  %12.2f", r.p, r.valAccuracy, r.testAccuracy, r.testExpectedOps / 1e6)) }
        }
    }

    private func evaluate(_ model: RANetModel, _ data: String, _ indices: String?, _ name: String) throws -> AnytimeEvaluation {
        let set = try LabeledData.open(URL(fileURLWithPath: data), indices: indices.map { URL(fileURLWithPath: $0) })
        let progress = ProgressLine(total: set.count, label: name)
        defer { progress.finish() }
        return try AnytimeEvaluation(model: model, data: set, progress: progress.update)
    }

    private func operationCounts() throws -> [Double] {
        if let opsPerExit {
            guard case .array(let items) = try? JSONValue.parse(opsPerExit), !items.isEmpty,
                  items.allSatisfy({ ($0.doubleValue ?? -1) >= 0 }) else {
                throw ShapeError("--ops-per-exit must be a JSON list of non-negative numbers, e.g. [5e6, 1.1e7]")
            }
            return items.compactMap(\.doubleValue)
        }
        let contents = try ModelOptions(model: model, config: config).read()
        return OperationCount(try NetworkDescription(config: contents.config)).opsPerExit
    }

    /// Labels as float32 or int64; each must be a whole, non-negative number.
    static func labels(_ path: String) throws -> [Int] {
        let url = URL(fileURLWithPath: path)
        let values = try NpyFile.read(contentsOf: url).doubleValues
        if let bad = values.first(where: { $0 < 0 || $0.rounded() != $0 || !$0.isFinite }) {
            throw FileError(path: url.path, message: "label \(bad) is not a class index")
        }
        return values.map { Int($0) }
    }
}
