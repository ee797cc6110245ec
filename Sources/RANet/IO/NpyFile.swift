import Foundation

/// An array read from a .npy file.
public enum NpyArray: Sendable {
    /// `<f4` data.
    case float32(Tensor)
    /// `<f8` data (e.g. losses saved by numpy from Python floats).
    case float64(shape: [Int], values: [Double])
    /// `<i8` data (labels, indices).
    case int64(shape: [Int], values: [Int64])
    /// `|u1` data (raw images).
    case uint8(shape: [Int], values: [UInt8])

    /// The array's shape.
    public var shape: [Int] {
        switch self {
        case .float32(let t): t.shape
        case .float64(let shape, _), .int64(let shape, _), .uint8(let shape, _): shape
        }
    }

    /// Every element as a Double (exact for all but int64 beyond 2^53).
    public var doubleValues: [Double] {
        switch self {
        case .float32(let t): t.values.map(Double.init)
        case .float64(_, let v): v
        case .int64(_, let v): v.map(Double.init)
        case .uint8(_, let v): v.map(Double.init)
        }
    }

    var dtypeName: String {
        switch self {
        case .float32: "float32"
        case .float64: "float64"
        case .int64: "int64"
        case .uint8: "uint8"
        }
    }
}

/// numpy's .npy format, versions 1–3: little-endian float32, float64, int64 and uint8 in C order.
/// Anything else (big-endian, Fortran order, other types) is a clear error.
public enum NpyFile {
    /// Most elements accepted in one array (16 GiB of float32).
    public static let maxElements = 1 << 32

    /// Reads a version 1–3 `.npy` file of float32, int64 or uint8 in C order.
    public static func read(contentsOf url: URL) throws -> NpyArray {
        try read(data: readFile(url, what: ".npy"), path: url.path)
    }

    /// Reads a float32 array, naming the file and the dtype found otherwise.
    public static func readFloat32(contentsOf url: URL) throws -> Tensor {
        let array = try read(contentsOf: url)
        guard case .float32(let t) = array else {
            throw FileError(path: url.path, message: "holds \(array.dtypeName) values; float32 is needed")
        }
        return t
    }

    static func read(data: Data, path: String) throws -> NpyArray {
        let bytes = ByteReader(data: data, path: path)
        guard data.count >= 10, data.starts(with: [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]) else {
            throw bytes.corrupt("not a .npy file")
        }
        let major = data[data.startIndex + 6]
        guard (1...3).contains(major) else { throw bytes.corrupt(".npy version \(major) is not supported") }
        let headerLength = Int(major == 1 ? try bytes.integer(8, 2) : try bytes.integer(8, 4))
        let headerStart = major == 1 ? 10 : 12
        let headerText = String(decoding: try bytes.slice(headerStart, headerLength), as: UTF8.self)
        guard case .dict(let header) = (try? PythonLiteral.parse(headerText, context: "npy header")) ?? .none,
              case .string(let descr) = header["descr"], case .list(let dims) = header["shape"] else {
            throw bytes.corrupt("malformed .npy header")
        }
        if case .bool(true) = header["fortran_order"] {
            throw bytes.corrupt("Fortran-ordered arrays are not supported; save a C-ordered array")
        }
        let shape = try dims.map { d -> Int in
            guard case .int(let v) = d, v >= 0, v <= maxElements else { throw bytes.corrupt("malformed .npy shape") }
            return v
        }
        let (count, overflow) = shape.reduce((1, false)) { acc, d in
            let r = acc.0.multipliedReportingOverflow(by: d)
            return (r.partialValue, acc.1 || r.overflow)
        }
        guard !overflow, count <= maxElements else { throw bytes.corrupt("array of shape \(shape) is too large") }
        let sizes = ["<f4": 4, "<f8": 8, "<i8": 8, "|u1": 1, "<u1": 1]
        guard let size = sizes[descr] else {
            throw bytes.corrupt("dtype '\(descr)' is not supported (float32 '<f4', float64 '<f8', int64 '<i8' or uint8 '|u1')")
        }
        let payload = try bytes.slice(headerStart + headerLength, count * size)
        switch descr {
        case "<f4": return .float32(try Tensor(shape: shape, values: payload.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }))
        case "<f8": return .float64(shape: shape, values: payload.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) })
        case "<i8": return .int64(shape: shape, values: payload.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) })
        default: return .uint8(shape: shape, values: [UInt8](payload))
        }
    }

    /// Writes a float32 array (completely or not at all).
    public static func write(_ tensor: Tensor, to url: URL) throws {
        try write(shape: tensor.shape, descr: "<f4", payload: tensor.values.withUnsafeBytes { Data($0) }, to: url)
    }

    /// Writes a float64 array (completely or not at all).
    public static func write(float64 values: [Double], shape: [Int], to url: URL) throws {
        try write(shape: shape, descr: "<f8", payload: values.withUnsafeBytes { Data($0) }, to: url)
    }

    /// Writes an int64 array (completely or not at all).
    public static func write(int64 values: [Int64], shape: [Int], to url: URL) throws {
        try write(shape: shape, descr: "<i8", payload: values.withUnsafeBytes { Data($0) }, to: url)
    }

    private static func write(shape: [Int], descr: String, payload: Data, to url: URL) throws {
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(dims), }"
        // Magic (6) + version (2) + length (2) + header + newline, padded to 64 bytes.
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        withUnsafeBytes(of: UInt16(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: Array(header.utf8))
        data.append(payload)
        try writeFileAtomically(data, to: url)
    }
}
