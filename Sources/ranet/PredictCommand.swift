import ArgumentParser
import Foundation
import RANet

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Classify every image in folders or files, with early exit.",
        discussion: """
            Images are found by content (JPEG, PNG, WebP, TIFF, BMP, PBM/PGM/PPM, HEIC, AVIF), in path order. Without --output a table is printed; \
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

    @OptionGroup var decodingOptions: DecodingOptions

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
        try FileClassifier(model: model, thresholds: thresholds, top: top, batch: batch, decoding: decodingOptions.decoding).run(files) { result in
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
