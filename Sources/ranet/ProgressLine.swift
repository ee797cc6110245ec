import Foundation

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
