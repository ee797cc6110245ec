import Foundation

/// The safetensors format: an 8-byte little-endian header length, a JSON header
/// (`name → {dtype, shape, data_offsets}` plus string `__metadata__`), then raw data.
/// It holds no code, which is why the project's native model files use it.
enum SafetensorsFile {
    /// Largest header accepted (the format's own reference reader uses 100 MB).
    static let maxHeaderBytes = 100_000_000

    /// Writes `stateDict`; with `weights` ``Precision/bf16`` the weights
    /// (float32 tensors of two or more dimensions) are rounded to bf16 and stored as `BF16`, while biases and
    /// batch norm statistics stay `F32`.
    static func write(_ stateDict: StateDict, metadata: [String: String], weights: Precision = .f32, to url: URL) throws {
        // Rounded once, as every reader of a bf16 file sees it; the top halves are then exact.
        let stateDict = weights == .bf16 ? stateDict.roundingWeightsToBF16() : stateDict
        var header: [String: JSONValue] = ["__metadata__": .object(metadata.mapValues { .string($0) })]
        var offset = 0
        // float32 tensors and int64 scalars (num_batches_tracked) are what a state_dict keeps values of.
        let keys = stateDict.tensors.keys.sorted().filter {
            let t = stateDict.tensors[$0]!
            return t.dtype == .float32 || t.int64Value != nil
        }
        func stored(_ t: StoredTensor) -> TensorDType {
            t.int64Value != nil ? .int64 : weights == .bf16 && StateDict.isWeight(t) ? .bfloat16 : .float32
        }
        for key in keys {
            let t = stateDict.tensors[key]!
            let dtype = stored(t)
            let bytes = dtype.size * t.shape.reduce(1, *)
            header[key] = .object([
                "dtype": .string(dtype.rawValue),
                "shape": .array(t.shape.map { .number(Double($0)) }),
                "data_offsets": .array([.number(Double(offset)), .number(Double(offset + bytes))]),
            ])
            offset += bytes
        }
        var headerBytes = Array(JSONValue.object(header).description.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        var data = Data(capacity: 8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: headerBytes)
        for key in keys {
            let t = stateDict.tensors[key]!
            if let value = t.int64Value {
                withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
            } else if stored(t) == .bfloat16 {
                let halves = t.values.map { UInt16(truncatingIfNeeded: $0.bitPattern >> 16).littleEndian }
                halves.withUnsafeBytes { data.append(contentsOf: $0) }
            } else {
                t.values.withUnsafeBytes { data.append(contentsOf: $0) }
            }
        }
        try writeFileAtomically(data, to: url)
    }

    static func read(_ file: FileBytes, path: String) throws -> (StateDict, [String: String]) {
        let data = file.data
        let bytes = ByteReader(data: data, path: path)
        guard data.count >= 8 else { throw bytes.corrupt("too short to be a safetensors file") }
        let headerLength = try bytes.integer(0, 8)
        guard headerLength <= UInt64(min(maxHeaderBytes, data.count - 8)) else {
            throw bytes.corrupt("not a safetensors file (header length \(headerLength) does not fit the file)")
        }
        let header: JSONValue
        do {
            header = try JSONValue.parse(try bytes.slice(8, Int(headerLength)))
        } catch let error as JSONValue.ParseError {
            throw bytes.corrupt("not a safetensors file (header is not JSON: \(error))")
        }
        guard case .object(let fields) = header else { throw bytes.corrupt("safetensors header is not an object") }
        let dataStart = 8 + Int(headerLength)
        let dataLength = data.count - dataStart
        var metadata: [String: String] = [:]
        var tensors: [String: StoredTensor] = [:]
        for (key, value) in fields {
            if key == "__metadata__" {
                guard case .object(let m) = value else { throw bytes.corrupt("__metadata__ is not an object") }
                metadata = m.compactMapValues(\.stringValue)
                continue
            }
            guard let dtypeName = value["dtype"]?.stringValue, let dtype = TensorDType(rawValue: dtypeName),
                  case .array(let shapeValues) = value["shape"], case .array(let offsets) = value["data_offsets"],
                  offsets.count == 2, let begin = offsets[0].intValue, let end = offsets[1].intValue else {
                throw bytes.corrupt("tensor '\(key)' has a malformed header entry")
            }
            let shape = shapeValues.compactMap(\.intValue)
            guard shape.count == shapeValues.count, shape.count <= 8, shape.allSatisfy({ $0 >= 0 && $0 <= Int(Int32.max) }) else {
                throw bytes.corrupt("tensor '\(key)' has a malformed shape")
            }
            let (count, overflow) = shape.reduce((1, false)) { acc, d in
                let r = acc.0.multipliedReportingOverflow(by: d)
                return (r.partialValue, acc.1 || r.overflow)
            }
            guard !overflow, begin >= 0, begin <= end, end <= dataLength, end - begin == count * dtype.size else {
                throw bytes.corrupt("tensor '\(key)' has data offsets that do not match its shape or the file (truncated?)")
            }
            switch dtype {
            case .float32:
                tensors[key] = StoredTensor(shape: shape, file: file, byteOffset: dataStart + begin)
            case .bfloat16:
                // Widened to float32 as read: each value is the float32 with these top 16 bits.
                let values = data.withUnsafeBytes { raw in
                    (0..<count).map { i in
                        Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: dataStart + begin + 2 * i, as: UInt16.self))) << 16)
                    }
                }
                tensors[key] = StoredTensor(shape: shape, values: values)
            case .int64 where shape.isEmpty:
                tensors[key] = StoredTensor(int64: Int64(bitPattern: try bytes.integer(dataStart + begin, 8)))
            default:
                tensors[key] = StoredTensor(dtype: dtype, shape: shape, values: [])
            }
        }
        return (StateDict(tensors: tensors), metadata)
    }
}
