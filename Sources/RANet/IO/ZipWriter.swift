import CZlib
import Foundation

/// A zip archive of stored (uncompressed) entries, as `torch.save` writes one: every
/// entry's data starts on a 64-byte boundary (padding in the local header's extra
/// field), so torch can map tensors straight from the file.
struct ZipWriter {
    private(set) var data = Data()
    private var central = Data()
    private var count = 0

    private static func append<T: FixedWidthInteger>(_ value: T, to data: inout Data) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }

    mutating func add(_ name: String, _ contents: Data) {
        let nameBytes = Array(name.utf8)
        let crc = contents.withUnsafeBytes { raw -> UInt32 in
            UInt32(crc32(0, raw.bindMemory(to: Bytef.self).baseAddress, uInt(raw.count)))
        }
        let offset = data.count
        // Local header (30 bytes) + name + extra field, then the data, 64-byte aligned.
        var extraLength = 0
        let unpadded = offset + 30 + nameBytes.count
        if unpadded % 64 != 0 { extraLength = 64 - unpadded % 64 }
        if extraLength > 0 && extraLength < 4 { extraLength += 64 }
        var header = Data()
        Self.append(UInt32(0x0403_4B50), to: &header)
        Self.append(UInt16(20), to: &header)  // version needed
        Self.append(UInt16(0), to: &header)  // flags
        Self.append(UInt16(0), to: &header)  // stored
        Self.append(UInt16(0), to: &header)  // time
        Self.append(UInt16(0x21), to: &header)  // date: 1980-01-01
        Self.append(crc, to: &header)
        Self.append(UInt32(contents.count), to: &header)
        Self.append(UInt32(contents.count), to: &header)
        Self.append(UInt16(nameBytes.count), to: &header)
        Self.append(UInt16(extraLength), to: &header)
        header.append(contentsOf: nameBytes)
        if extraLength > 0 {
            Self.append(UInt16(0x4246), to: &header)  // "FB": torch's padding field
            Self.append(UInt16(extraLength - 4), to: &header)
            header.append(Data(count: extraLength - 4))
        }
        data.append(header)
        data.append(contents)
        Self.append(UInt32(0x0201_4B50), to: &central)
        Self.append(UInt16(20), to: &central)  // made by
        Self.append(UInt16(20), to: &central)
        Self.append(UInt16(0), to: &central)
        Self.append(UInt16(0), to: &central)
        Self.append(UInt16(0), to: &central)
        Self.append(UInt16(0x21), to: &central)
        Self.append(crc, to: &central)
        Self.append(UInt32(contents.count), to: &central)
        Self.append(UInt32(contents.count), to: &central)
        Self.append(UInt16(nameBytes.count), to: &central)
        Self.append(UInt16(0), to: &central)  // extra
        Self.append(UInt16(0), to: &central)  // comment
        Self.append(UInt16(0), to: &central)  // disk
        Self.append(UInt16(0), to: &central)  // internal attributes
        Self.append(UInt32(0), to: &central)  // external attributes
        Self.append(UInt32(offset), to: &central)
        central.append(contentsOf: nameBytes)
        count += 1
    }

    /// The archive with its central directory. Archives past 4 GiB would need zip64,
    /// which no RANet checkpoint comes near; they are refused.
    func finished() throws -> Data {
        guard data.count + central.count < Int(UInt32.max), count < Int(UInt16.max) else {
            throw ShapeError("checkpoint archive too large for a zip without zip64")
        }
        var out = data
        out.append(central)
        Self.append(UInt32(0x0605_4B50), to: &out)
        Self.append(UInt16(0), to: &out)
        Self.append(UInt16(0), to: &out)
        Self.append(UInt16(count), to: &out)
        Self.append(UInt16(count), to: &out)
        Self.append(UInt32(central.count), to: &out)
        Self.append(UInt32(data.count), to: &out)
        Self.append(UInt16(0), to: &out)
        return out
    }
}
