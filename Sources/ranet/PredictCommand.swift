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
    @OptionGroup var engine: EngineOptions

    @Flag(help: "Descend into sub-folders.")
    var recursive = false

    @Option(help: ArgumentHelp("Write the results to a .csv or .jsonl file.", discussion: "Their exit field counts from 0 (exit 1 of the text and the paper is 0), as the library's Prediction.exit does.", valueName: "file"))
    var output: String?

    @Option(help: ArgumentHelp("Also write one self-contained HTML page: the images grouped by the exit they left at; with an image-folder tree (folders named by class), the accuracy per exit and against operations (every exit is then computed too).", valueName: "report.html"))
    var report: String?

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
        if let report, !(report.hasSuffix(".html") || report.hasSuffix(".htm")) {
            throw ValidationError("--report must end in .html")
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
        let model = try source.load(options: engine.options(threads: threads))
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
        var classifier = FileClassifier(model: model, thresholds: thresholds, top: top, batch: batch, decoding: decodingOptions.decoding,
                                        thumbnailSide: report == nil ? 0 : PredictionReport.thumbnailSide)
        let roots = paths.map { URL(fileURLWithPath: $0) }
        func label(_ url: URL) -> Int? { roots.lazy.compactMap { PredictionReport.folderLabel(of: url, under: $0, model: model) }.first }
        // The accuracy curve needs every exit, so a report on labelled folders computes them all.
        classifier.everyExit = report != nil && !files.isEmpty && files.allSatisfy { label($0) != nil }
        var page = report.map { _ in PredictionReport(model: model, thresholds: classifier.thresholds) }
        try classifier.run(files) { result in
            summary.add(result)
            try page?.add(result, label: label(result.url), name: displayName(result.url, roots))
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
        if let report, let page { try writeFileAtomically(Data(page.html().utf8), to: URL(fileURLWithPath: report)) }
        print(summary.text(seconds: Date().timeIntervalSince(start), skippedPaths: problems.count))
        if summary.skipped + problems.count > 0 { throw ExitCode(3) }
    }

    /// A file's path from the folder given on the command line that holds it.
    private func displayName(_ url: URL, _ roots: [URL]) -> String {
        let path = url.standardizedFileURL.path
        for root in roots {
            let prefix = root.standardizedFileURL.path + "/"
            if path.hasPrefix(prefix) { return String(path.dropFirst(prefix.count)) }
        }
        return url.lastPathComponent
    }

    private func warn(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}
