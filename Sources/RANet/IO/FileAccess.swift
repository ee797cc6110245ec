import Foundation

/// A file that could not be read or written; the message names the path.
public struct FileError: Error, CustomStringConvertible {
    /// The file's path.
    public let path: String
    /// What went wrong.
    public let message: String
    /// An error about the file at `path`.
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
    /// `path: message`.
    public var description: String { "\(path): \(message)" }
}

/// Reads a whole file, turning Foundation's errors into one readable line.
func readFile(_ url: URL, what: String) throws -> Data {
    try checkReadable(url, what: what)
    do {
        return try Data(contentsOf: url, options: .alwaysMapped)
    } catch {
        throw FileError(path: url.path, message: "cannot read the \(what) file")
    }
}

/// One line for a path that is missing, a folder, not a regular file, or unreadable.
func checkReadable(_ url: URL, what: String) throws {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
        throw FileError(path: url.path, message: "no such \(what) file")
    }
    guard !isDirectory.boolValue else { throw FileError(path: url.path, message: "is a directory, expected a \(what) file") }
    // A FIFO or device would block or never end; only regular files are read.
    guard isRegularFile(url) else { throw FileError(path: url.path, message: "not a regular file") }
    guard FileManager.default.isReadableFile(atPath: url.path) else {
        throw FileError(path: url.path, message: "cannot read the \(what) file (permission denied)")
    }
}

/// Whether `url` is a regular file (after following symbolic links).
func isRegularFile(_ url: URL) -> Bool {
    var info = stat()
    return stat(url.path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
}

/// Writes a file completely or not at all: the data goes to a temporary name in the
/// same folder, which is then renamed over the destination.
public func writeFileAtomically(_ data: Data, to url: URL) throws {
    let writer = try AtomicFileWriter(url)
    try writer.write(data)
    try writer.commit()
}

/// Streams a file that appears under its name only when complete: written under a
/// temporary name in the same folder, renamed by ``commit()``, removed if never committed.
public final class AtomicFileWriter {
    /// Where the file appears when committed.
    public let url: URL
    private let temporary: URL
    private let handle: FileHandle
    private var done = false

    /// Opens a temporary file beside `url` for writing.
    public init(_ url: URL) throws {
        self.url = url
        temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil),
              let handle = FileHandle(forWritingAtPath: temporary.path) else {
            throw FileError(path: url.path, message: "cannot write (folder missing or not writable)")
        }
        self.handle = handle
    }

    /// Appends `data` to the temporary file.
    public func write(_ data: Data) throws {
        do {
            try handle.write(contentsOf: data)
        } catch {
            throw FileError(path: url.path, message: "cannot write: \(error.localizedDescription)")
        }
    }

    /// Closes the file and gives it its name.
    public func commit() throws {
        try? handle.close()
        done = true
        if rename(temporary.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary.path)
            throw FileError(path: url.path, message: "cannot write: \(reason)")
        }
    }

    deinit {
        if !done {
            try? handle.close()
            unlink(temporary.path)
        }
    }
}
