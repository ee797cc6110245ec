import Foundation

/// Protocol Buffers' wire format, as much of it as an ONNX file needs: varints,
/// length-delimited fields and fixed 32-bit floats. Fields are written in the order
/// given; nested messages are built first and written as bytes.
struct ProtobufWriter {
    private(set) var data = Data()

    private mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            data.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        data.append(UInt8(v))
    }

    private mutating func key(_ field: Int, _ wireType: UInt64) { varint(UInt64(field) << 3 | wireType) }

    /// An integer field (int32, int64, enum), negative values as ten-byte varints.
    mutating func int(_ field: Int, _ value: Int) {
        key(field, 0)
        varint(UInt64(bitPattern: Int64(value)))
    }

    /// A float field.
    mutating func float(_ field: Int, _ value: Float) {
        key(field, 5)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
    }

    /// A bytes field, or an embedded message's encoding.
    mutating func bytes(_ field: Int, _ value: Data) {
        key(field, 2)
        varint(UInt64(value.count))
        data.append(value)
    }

    /// A string field.
    mutating func string(_ field: Int, _ value: String) { bytes(field, Data(value.utf8)) }

    /// An embedded message built by `body`.
    mutating func message(_ field: Int, _ body: (inout ProtobufWriter) -> Void) {
        var nested = ProtobufWriter()
        body(&nested)
        bytes(field, nested.data)
    }
}
