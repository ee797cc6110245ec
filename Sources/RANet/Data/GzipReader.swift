import CZlib
import Foundation

/// Sequential reads from a file that may be gzip-compressed (zlib detects it).
final class GzipReader {
    private let file: gzFile
    let path: String

    init(url: URL) throws {
        path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw FileError(path: path, message: "no such data file")
        }
        guard let file = gzopen(path, "rb") else {
            throw FileError(path: path, message: "cannot open the data file (\(String(cString: strerror(errno))))")
        }
        self.file = file
        gzbuffer(file, 1 << 17)
    }

    deinit { gzclose(file) }

    /// Reads exactly `count` bytes into `buffer`, or fails naming the file.
    func read(into buffer: UnsafeMutableRawPointer, count: Int) throws {
        var done = 0
        while done < count {
            let n = gzread(file, buffer + done, UInt32(min(count - done, 1 << 30)))
            if n < 0 { throw FileError(path: path, message: "corrupt compressed data") }
            if n == 0 { throw FileError(path: path, message: "unexpected end of data (truncated?)") }
            done += Int(n)
        }
    }

    func read(_ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { try read(into: $0.baseAddress!, count: count) }
        return bytes
    }

    /// Skips `count` bytes forward.
    func skip(_ count: Int) throws {
        guard count > 0 else { return }
        if gzseek(file, off_t(count), SEEK_CUR) < 0 { throw FileError(path: path, message: "unexpected end of data (truncated?)") }
    }

    /// True when nothing is left to read.
    var atEnd: Bool {
        var byte: UInt8 = 0
        let n = gzread(file, &byte, 1)
        if n == 1 { gzungetc(Int32(byte), file) }
        return n <= 0
    }
}
