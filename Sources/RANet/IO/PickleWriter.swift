import Foundation

/// The values a torch checkpoint's pickle holds, for writing.
indirect enum PickleOutput {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case list([PickleOutput])
    case dict([(PickleOutput, PickleOutput)])
    /// A `collections.OrderedDict` (a state_dict).
    case orderedDict([(String, PickleOutput)])
    /// A tensor over storage `key` of the archive: float32 or int64, contiguous.
    case tensor(storage: String, dtype: TensorDType, shape: [Int])
}

/// Pickle protocol 2 with exactly the opcodes `torch.save` itself writes for a checkpoint,
/// so that `torch.load(..., weights_only=True)` accepts the result (its globals:
/// `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`, `torch.FloatStorage`,
/// `torch.LongStorage`).
struct PickleWriter {
    private(set) var data = Data([0x80, 2])  // PROTO 2

    static func encode(_ value: PickleOutput) -> Data {
        var writer = PickleWriter()
        writer.write(value)
        writer.data.append(0x2E)  // STOP
        return writer.data
    }

    private mutating func global(_ module: String, _ name: String) {
        data.append(0x63)  // GLOBAL
        data.append(contentsOf: Array("\(module)\n\(name)\n".utf8))
    }

    private mutating func string(_ s: String) {
        let bytes = Array(s.utf8)
        data.append(0x58)  // BINUNICODE
        withUnsafeBytes(of: UInt32(bytes.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: bytes)
    }

    private mutating func int(_ v: Int) {
        if (0..<256).contains(v) {
            data.append(contentsOf: [0x4B, UInt8(v)])  // BININT1
        } else if (0..<65536).contains(v) {
            data.append(0x4D)  // BININT2
            withUnsafeBytes(of: UInt16(v).littleEndian) { data.append(contentsOf: $0) }
        } else if let small = Int32(exactly: v) {
            data.append(0x4A)  // BININT
            withUnsafeBytes(of: small.littleEndian) { data.append(contentsOf: $0) }
        } else {
            data.append(contentsOf: [0x8A, 8])  // LONG1, 8 bytes two's complement
            withUnsafeBytes(of: Int64(v).littleEndian) { data.append(contentsOf: $0) }
        }
    }

    private mutating func tuple(_ items: [PickleOutput]) {
        data.append(0x28)  // MARK
        items.forEach { write($0) }
        data.append(0x74)  // TUPLE
    }

    private mutating func emptyOrderedDict() {
        global("collections", "OrderedDict")
        data.append(contentsOf: [0x29, 0x52])  // EMPTY_TUPLE, REDUCE
    }

    private mutating func setItems(_ pairs: [(PickleOutput, PickleOutput)]) {
        guard !pairs.isEmpty else { return }
        data.append(0x28)  // MARK
        for (k, v) in pairs {
            write(k)
            write(v)
        }
        data.append(0x75)  // SETITEMS
    }

    mutating func write(_ value: PickleOutput) {
        switch value {
        case .none: data.append(0x4E)
        case .bool(let b): data.append(b ? 0x88 : 0x89)
        case .int(let v): int(v)
        case .float(let v):
            data.append(0x47)  // BINFLOAT, big-endian
            withUnsafeBytes(of: v.bitPattern.bigEndian) { data.append(contentsOf: $0) }
        case .string(let s): string(s)
        case .list(let items):
            data.append(0x5D)  // EMPTY_LIST
            if !items.isEmpty {
                data.append(0x28)
                items.forEach { write($0) }
                data.append(0x65)  // APPENDS
            }
        case .dict(let pairs):
            data.append(0x7D)  // EMPTY_DICT
            setItems(pairs)
        case .orderedDict(let pairs):
            emptyOrderedDict()
            setItems(pairs.map { (.string($0.0), $0.1) })
        case .tensor(let storage, let dtype, let shape):
            global("torch._utils", "_rebuild_tensor_v2")
            data.append(0x28)  // MARK: the arguments
            // Persistent id ('storage', torch.FloatStorage, key, 'cpu', numel).
            data.append(0x28)
            string("storage")
            global("torch", dtype == .int64 ? "LongStorage" : "FloatStorage")
            string(storage)
            string("cpu")
            int(max(shape.reduce(1, *), 1))
            data.append(0x74)
            data.append(0x51)  // BINPERSID
            int(0)  // storage offset
            tuple(shape.map { .int($0) })
            tuple(TorchCheckpoint.contiguousStrides(shape).map { .int($0) })
            data.append(0x89)  // requires_grad False
            emptyOrderedDict()  // backward hooks
            data.append(0x74)  // TUPLE
            data.append(0x52)  // REDUCE
        }
    }
}
