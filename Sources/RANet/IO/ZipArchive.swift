import Foundation

/// A read-only view of a zip archive's stored (uncompressed) entries, as `torch.save`
/// writes them. Every offset and size is checked against the file before use.
struct ZipArchive {
    struct Entry {
        let name: String
        /// Byte range of the entry's data in the archive.
        let range: Range<Int>
    }

    let data: Data
    let entries: [String: Entry]

    /// Most entries a checkpoint can have (one per tensor storage, plus a few).
    static let maxEntries = 1_000_000

    init(data: Data, path: String) throws {
        self.data = data
        let bytes = ByteReader(data: data, path: path)
        let end = try Self.findEndOfCentralDirectory(bytes)
        var count = Int(try bytes.u16(end + 10))
        var directorySize = Int(try bytes.u32(end + 12))
        var directoryOffset = Int(try bytes.u32(end + 16))
        if count == 0xFFFF || directoryOffset == 0xFFFF_FFFF || directorySize == 0xFFFF_FFFF {
            // Zip64: a locator sits right before the end record and points at the zip64 record.
            let locator = end - 20
            guard locator >= 0, try bytes.u32(locator) == 0x0706_4b50 else { throw bytes.corrupt("zip64 locator missing") }
            let record = try bytes.offset64(locator + 8)
            guard try bytes.u32(record) == 0x0606_4b50 else { throw bytes.corrupt("zip64 end record missing") }
            count = try bytes.offset64(record + 32)
            directorySize = try bytes.offset64(record + 40)
            directoryOffset = try bytes.offset64(record + 48)
        }
        guard count <= Self.maxEntries, directoryOffset + directorySize <= data.count else {
            throw bytes.corrupt("central directory out of bounds")
        }
        var entries: [String: Entry] = [:]
        var at = directoryOffset
        for _ in 0..<count {
            guard try bytes.u32(at) == 0x0201_4b50 else { throw bytes.corrupt("bad central directory entry") }
            let method = try bytes.u16(at + 10)
            var compressed = Int(try bytes.u32(at + 20))
            var size = Int(try bytes.u32(at + 24))
            let nameLength = Int(try bytes.u16(at + 28)), extraLength = Int(try bytes.u16(at + 30))
            let commentLength = Int(try bytes.u16(at + 32))
            var localOffset = Int(try bytes.u32(at + 42))
            let name = String(decoding: try bytes.slice(at + 46, nameLength), as: UTF8.self)
            // Zip64 extended information replaces the fields that read 0xFFFFFFFF, in order.
            var extra = at + 46 + nameLength
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd {
                let tag = try bytes.u16(extra), length = Int(try bytes.u16(extra + 2))
                if tag == 0x0001 {
                    var field = extra + 4
                    if size == 0xFFFF_FFFF { size = try bytes.offset64(field); field += 8 }
                    if compressed == 0xFFFF_FFFF { compressed = try bytes.offset64(field); field += 8 }
                    if localOffset == 0xFFFF_FFFF { localOffset = try bytes.offset64(field) }
                }
                extra += 4 + length
            }
            guard method == 0 else {
                throw bytes.corrupt("entry '\(name)' is compressed (method \(method)); torch.save writes stored entries only")
            }
            guard compressed == size else { throw bytes.corrupt("entry '\(name)' has inconsistent sizes") }
            guard try bytes.u32(localOffset) == 0x0403_4b50 else { throw bytes.corrupt("bad local header for '\(name)'") }
            let start = localOffset + 30 + Int(try bytes.u16(localOffset + 26)) + Int(try bytes.u16(localOffset + 28))
            guard start <= data.count, size <= data.count - start else {
                throw bytes.corrupt("entry '\(name)' runs past the end of the file (truncated?)")
            }
            entries[name] = Entry(name: name, range: start..<(start + size))
            at += 46 + nameLength + extraLength + commentLength
        }
        self.entries = entries
    }

    /// The bytes of an entry.
    func contents(of entry: Entry) -> Data {
        data.subdata(in: (data.startIndex + entry.range.lowerBound)..<(data.startIndex + entry.range.upperBound))
    }

    private static func findEndOfCentralDirectory(_ bytes: ByteReader) throws -> Int {
        let count = bytes.data.count
        guard count >= 22 else { throw bytes.corrupt("too short to be a zip archive") }
        // The end record is the last 22 bytes plus a comment of at most 65535 bytes.
        var at = count - 22
        let lowest = max(0, count - 22 - 65_535)
        while at >= lowest {
            if try bytes.u32(at) == 0x0605_4b50 { return at }
            at -= 1
        }
        throw bytes.corrupt("not a zip archive (no end of central directory; truncated?)")
    }
}

/// Little-endian reads from a byte buffer that fail, instead of trapping, when out of bounds.
struct ByteReader {
    let data: Data
    let path: String

    func corrupt(_ message: String) -> FileError { FileError(path: path, message: message) }

    func slice(_ offset: Int, _ length: Int) throws -> Data {
        guard offset >= 0, length >= 0, offset <= data.count, length <= data.count - offset else {
            throw corrupt("unexpected end of file (truncated?)")
        }
        return data.subdata(in: (data.startIndex + offset)..<(data.startIndex + offset + length))
    }

    func integer(_ offset: Int, _ length: Int) throws -> UInt64 {
        guard offset >= 0, offset <= data.count - length else { throw corrupt("unexpected end of file (truncated?)") }
        var value: UInt64 = 0
        for i in (0..<length).reversed() {
            value = value << 8 | UInt64(data[data.startIndex + offset + i])
        }
        return value
    }

    func u16(_ offset: Int) throws -> UInt16 { UInt16(try integer(offset, 2)) }
    func u32(_ offset: Int) throws -> UInt32 { UInt32(try integer(offset, 4)) }

    /// A 64-bit size or offset, which must fit the file.
    func offset64(_ offset: Int) throws -> Int {
        let value = try integer(offset, 8)
        guard value <= UInt64(data.count) else { throw corrupt("size or offset past the end of the file") }
        return Int(value)
    }
}
