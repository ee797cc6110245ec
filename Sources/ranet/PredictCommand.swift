import ArgumentParser
import Foundation
import RANet

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Classify every image in folders or files, with early exit.",
        discussion: """
            Images are found by content (JPEG, PNG), in path order. Without --output a table is printed; \
            with it, one row per file goes to a CSV or JSON-lines file (by its extension), written completely \
            or not at all. Files that cannot be classified are reported with their reason and skipped.

            Exit status: 0 all files classified; 3 finished, but some files or paths were skipped; \
            1 nothing done (an error); 64 a usage mistake.
            """)

    @Argument(help: "Folders or image files.")
    var paths: [String]

    @OptionGroup var source: ModelOptions

    @Flag(help: "Descend into sub-folders.")
    var recursive = false

    @Option(help: ArgumentHelp("Write the results to a .csv or .jsonl file.", valueName: "file"))
    var output: String?

    @Option(help: "How many of the most probable classes to list.")
    var top = 1

    @OptionGroup var thresholdOptions: ThresholdOptions

    @Option(help: "Images per batch.")
    var batch = 64

    @Option(help: "Threads for the network (default: all cores).")
    var threads: Int?

    @Option(help: ArgumentHelp("Take shard I of N of the files (e.g. 0/4), for spreading a collection over machines.", valueName: "I/N"))
    var shard: String?

    @Option(help: "Refuse images with more pixels than this (decompression bombs).")
    var maxPixels = DecodedImage.defaultMaxPixels

    func validate() throws {
        if top < 1 { throw ValidationError("--top must be at least 1") }
        if batch < 1 { throw ValidationError("--batch must be at least 1") }
        if let output, !(output.hasSuffix(".csv") || output.hasSuffix(".jsonl")) {
            throw ValidationError("--output must end in .csv or .jsonl")
        }
        _ = try parsedShard()
    }

    private func parsedShard() throws -> (index: Int, count: Int)? {
        guard let shard else { return nil }
        let parts = shard.split(separator: "/").map { Int($0) }
        guard parts.count == 2, let i = parts[0], let n = parts[1], n >= 1, i >= 0, i < n else {
            throw ValidationError("--shard takes I/N with 0 ≤ I < N, e.g. 0/4")
        }
        return (i, n)
    }

    func run() throws {
        let model = try source.load(threads: threads)
        let thresholds = try thresholdOptions.resolve(for: model)
        var (files, problems) = ImageFinder.files(under: paths.map { URL(fileURLWithPath: $0) }, recursive: recursive)
        if let (index, count) = try parsedShard() { files = ImageFinder.shard(files, index: index, count: count) }
        for problem in problems { warn("skipped \(problem.path): \(problem.reason)") }
        let format = output.map { $0.hasSuffix(".csv") ? ResultFormat.csv : .jsonl } ?? .table
        let writer = ResultWriter(format: format, classes: model.metadata.classes, top: top, numClasses: model.numClasses)
        let progress = ProgressLine(total: files.count, label: "classifying")
        var summary = PredictionSummary(exits: model.exitCount)
        let start = Date()
        // Rows stream to a temporary file that takes the output's name only when complete.
        let file = try output.map { try AtomicFileWriter(URL(fileURLWithPath: $0)) }
        if let header = writer.header { try file?.write(Data((header + "\n").utf8)) }
        try FileClassifier(model: model, thresholds: thresholds, top: top, batch: batch, maxPixels: maxPixels).run(files) { result in
            summary.add(result)
            if case .notAnImage = result.outcome { return }
            let line = writer.row(result)
            progress.clear()
            if format == .table {
                print(line)
            } else {
                try file?.write(Data((line + "\n").utf8))
                if let reason = result.skipReason { warn("skipped \(result.url.relativePath): \(reason)") }
            }
            progress.update(summary.done)
        }
        progress.finish()
        try file?.commit()
        print(summary.text(seconds: Date().timeIntervalSince(start), skippedPaths: problems.count))
        if summary.skipped + problems.count > 0 { throw ExitCode(3) }
    }

    private func warn(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}

enum ResultFormat { case table, csv, jsonl }

/// Formats one row per file.
struct ResultWriter {
    let format: ResultFormat
    let classes: [String]?
    let top: Int
    let numClasses: Int

    private func name(_ label: Int) -> String {
        classes.flatMap { label < $0.count ? $0[label] : nil } ?? String(label)
    }

    var header: String? {
        switch format {
        case .csv:
            let ranks = (1...top).flatMap { ["class_\($0)", "probability_\($0)"] }
            return (["path"] + ranks + ["exit", "operations", "error"]).joined(separator: ",")
        case .table, .jsonl:
            return nil
        }
    }

    func row(_ r: FileClassifier.Result) -> String {
        switch format {
        case .csv:
            var fields = [csv(r.url.relativePath)]
            for i in 0..<top {
                if let p = r.prediction, i < p.top.count {
                    fields += [csv(name(p.top[i].label)), String(format: "%.6f", p.top[i].probability)]
                } else {
                    fields += ["", ""]
                }
            }
            fields += [r.prediction.map { String($0.exit) } ?? "", r.prediction.map { String(Int($0.operations)) } ?? "", csv(r.skipReason ?? "")]
            return fields.joined(separator: ",")
        case .jsonl:
            var object: [String: JSONValue] = ["path": .string(r.url.relativePath)]
            if let p = r.prediction {
                object["top"] = .array(p.top.map { .object(["label": .number(Double($0.label)), "class": .string(name($0.label)), "probability": .number(Double($0.probability))]) })
                object["exit"] = .number(Double(p.exit))
                object["operations"] = .number(p.operations)
            } else {
                object["error"] = .string(r.skipReason ?? "")
            }
            return JSONValue.object(object).description
        case .table:
            guard let p = r.prediction else { return "\(r.url.relativePath)  skipped: \(r.skipReason ?? "")" }
            let ranked = p.top.map { "\(name($0.label)) \(String(format: "%.2f", $0.probability))" }.joined(separator: ", ")
            return "\(r.url.relativePath)  \(ranked)  (exit \(p.exit), \(String(format: "%.2f", p.operations / 1e6))M ops)"
        }
    }

    private func csv(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}

/// Counts for the closing summary.
struct PredictionSummary {
    var done = 0, skipped = 0, ignored = 0
    var histogram: [Int]
    var operations = 0.0

    init(exits: Int) { histogram = [Int](repeating: 0, count: exits) }

    mutating func add(_ r: FileClassifier.Result) {
        done += 1
        switch r.outcome {
        case .classified(let p):
            histogram[p.exit] += 1
            operations += p.operations
        case .skipped: skipped += 1
        case .notAnImage: ignored += 1
        }
    }

    func text(seconds: Double, skippedPaths: Int) -> String {
        let images = done - skipped - ignored
        return String(format: "%d images classified, %d skipped, %d other files ignored, %.1f images/s, %.2fM operations per image on average\n",
                      images, skipped + skippedPaths, ignored, Double(images) / max(seconds, 1e-9), images > 0 ? operations / Double(images) / 1e6 : 0)
            + "images leaving at each exit: " + histogram.map(String.init).joined(separator: " ")
    }
}
