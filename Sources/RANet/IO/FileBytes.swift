import Foundation

/// A model file's bytes, mapped read-only from the file where the system allows it and
/// read into memory otherwise (or given in memory).
///
/// Why mapped: the weights of a loaded model are packed once for the kernels that run
/// them; a second copy as arrays would double a model's memory (0.5 GB more for an
/// ImageNet RANet). Tensors read from a mapped file stay views of it, and each read of
/// their values gives the pages back to the page cache afterwards, so a later read (the
/// next layout packed, ``ModelFile/write(_:weights:to:)``) comes from the page cache or the
/// file again, not from the process's memory.
///
/// The mapping is private and read-only: replacing the file (by rename, as every writer
/// of this library does) leaves it intact; truncating the file in place while a model
/// built from it is still packing layers is not supported.
final class FileBytes: @unchecked Sendable {
    /// The bytes (never written).
    let data: Data
    /// Whether `data` is a mapping of the file whose pages can be given back.
    private let mapped: Bool

    /// Bytes held in memory.
    init(_ data: Data) {
        self.data = data
        mapped = false
    }

    /// The file at `url`, mapped; read whole where it cannot be mapped.
    init(contentsOf url: URL, what: String) throws {
        try checkReadable(url, what: what)
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path: url.path, message: "cannot read the \(what) file") }
        defer { close(fd) }
        var info = stat()
        let size = fstat(fd, &info) == 0 ? Int(info.st_size) : 0
        if size > 0, let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != UnsafeMutableRawPointer(bitPattern: -1) {
            data = Data(bytesNoCopy: base, count: size, deallocator: .custom { pointer, count in munmap(pointer, count) })
            mapped = true
        } else {
            data = try readFile(url, what: what)
            mapped = false
        }
    }

    /// `count` float32 values starting `byteOffset` bytes into the file (any alignment).
    /// The whole pages they occupy are given back to the page cache once copied.
    func floats(at byteOffset: Int, count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            data.withUnsafeBytes { raw in
                let source = raw.baseAddress!.advanced(by: byteOffset)
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(start: source, count: count * 4))
                if mapped { Self.release(source, bytes: count * 4) }
            }
            initialized = count
        }
    }

    /// Drops the process's copy of the whole pages inside these bytes: the mapping is
    /// private and never written, so the next read faults them in from the page cache.
    private static func release(_ start: UnsafeRawPointer, bytes: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let first = (Int(bitPattern: start) + page - 1) / page * page
        let end = (Int(bitPattern: start) + bytes) / page * page
        guard end > first else { return }
        madvise(UnsafeMutableRawPointer(bitPattern: first), end - first, Int32(MADV_DONTNEED))
    }
}
