import ArgumentParser
import Foundation
import RANet

/// A labeled data set on the command line.
struct DataOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Labeled images: a folder with one sub-folder of JPEG/PNG files per class, an IDX images file (.gz or not; MNIST, Fashion-MNIST), or a CIFAR binary batch (*.bin).", valueName: "path"))
    var data: String

    @Option(help: ArgumentHelp("The IDX labels file, when it is not found beside --data by its standard name.", valueName: "file"))
    var labels: String?

    @Option(help: ArgumentHelp("An int64 .npy of record numbers to use (e.g. a validation split).", valueName: "file"))
    var indices: String?

    @Option(help: "Images per batch.")
    var batch = 64

    func validate() throws {
        if batch < 1 { throw ValidationError("--batch must be at least 1") }
    }

    func open() throws -> LabeledData {
        try LabeledData.open(URL(fileURLWithPath: data), labels: labels.map { URL(fileURLWithPath: $0) },
                             indices: indices.map { URL(fileURLWithPath: $0) })
    }
}

/// A progress line on standard error, only when it is a terminal.
final class ProgressLine {
    private let total: Int
    private let label: String
    private let start = Date()
    private let enabled = isatty(STDERR_FILENO) == 1

    init(total: Int, label: String) {
        self.total = total
        self.label = label
    }

    func update(_ done: Int) {
        guard enabled else { return }
        let elapsed = Date().timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        FileHandle.standardError.write(Data(String(format: "\r%@ %d/%d images, %.0f images/s, ETA %.0f s   ", label, done, total, rate, eta).utf8))
    }

    /// Erases the line, so that other output can be printed.
    func clear() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    func finish() { clear() }
}
