import CRANet
import Foundation

/// Element types of stored tensors.
public enum TensorDType: String, Sendable {
    /// 32-bit float, the only type whose values the network reads.
    case float32 = "F32"
    /// 64-bit float.
    case float64 = "F64"
    /// 16-bit IEEE float.
    case float16 = "F16"
    /// bfloat16.
    case bfloat16 = "BF16"
    /// 64-bit integer (batch norm's `num_batches_tracked`).
    case int64 = "I64"
    /// 32-bit integer.
    case int32 = "I32"
    /// 16-bit integer.
    case int16 = "I16"
    /// 8-bit integer.
    case int8 = "I8"
    /// 8-bit unsigned integer.
    case uint8 = "U8"
    /// Boolean.
    case bool = "BOOL"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .float16, .bfloat16, .int16: 2
        case .int8, .uint8, .bool: 1
        }
    }

    /// torch's legacy storage classes, as pickled checkpoints name them.
    static let storageClasses: [String: TensorDType] = [
        "torch.FloatStorage": .float32, "torch.DoubleStorage": .float64, "torch.HalfStorage": .float16,
        "torch.BFloat16Storage": .bfloat16, "torch.LongStorage": .int64, "torch.IntStorage": .int32,
        "torch.ShortStorage": .int16, "torch.CharStorage": .int8, "torch.ByteStorage": .uint8,
        "torch.BoolStorage": .bool,
    ]
}

/// A named tensor read from a checkpoint. float32 tensors carry their values, and so do
/// int64 scalars (batch norm's `num_batches_tracked`, which training carries on); the
/// network needs nothing else.
public struct StoredTensor: Sendable {
    /// The element type in the file.
    public let dtype: TensorDType
    /// The shape.
    public let shape: [Int]
    private let storage: Storage

    /// Where the values are: in an array, or still in the model file (see `FileBytes`).
    private enum Storage: Sendable {
        case array([Float])
        case file(FileBytes, byteOffset: Int)
        case integer(Int64)
        case none
    }

    /// A tensor of this type and shape (values only for float32).
    public init(dtype: TensorDType, shape: [Int], values: [Float]) {
        self.dtype = dtype
        self.shape = shape
        storage = dtype == .float32 ? .array(values) : .none
    }

    /// A float32 tensor.
    public init(shape: [Int], values: [Float]) {
        self.init(dtype: .float32, shape: shape, values: values)
    }

    /// An int64 scalar, such as batch norm's `num_batches_tracked`.
    public init(int64 value: Int64) {
        dtype = .int64
        shape = []
        storage = .integer(value)
    }

    /// The value of an int64 scalar; nil for any other tensor.
    public var int64Value: Int64? {
        if case .integer(let value) = storage { return value }
        return nil
    }

    /// A contiguous float32 tensor left in the file's bytes, read on each access.
    init(shape: [Int], file: FileBytes, byteOffset: Int) {
        dtype = .float32
        self.shape = shape
        storage = .file(file, byteOffset: byteOffset)
    }

    /// Row-major values when `dtype` is float32, empty otherwise. A tensor of a model file
    /// is read from the file (or the page cache) on each access: keep the array rather
    /// than asking twice.
    public var values: [Float] {
        switch storage {
        case .array(let values): values
        case .file(let file, let offset): file.floats(at: offset, count: shape.reduce(1, *))
        case .integer, .none: []
        }
    }
}

/// A state_dict: parameter name → tensor, names without DataParallel's `module.` prefix.
public struct StateDict: Sendable {
    /// The tensors by the authors' keys (without a `module.` prefix).
    public var tensors: [String: StoredTensor]

    /// A state_dict of these tensors.
    public init(tensors: [String: StoredTensor]) { self.tensors = tensors }

    /// BatchNorm's step counter: in every state_dict, used by nothing at inference.
    static func isIgnorable(_ key: String) -> Bool { key.hasSuffix(batchesTrackedSuffix) }

    static let batchesTrackedSuffix = ".num_batches_tracked"

    /// `num_batches_tracked` of each batch norm that has one, by the batch norm's key
    /// (`….net.1`): what training counts on from, whichever file the weights came from.
    public var batchesTracked: [String: Int64] {
        var tracked: [String: Int64] = [:]
        for (key, tensor) in tensors where Self.isIgnorable(key) {
            if let value = tensor.int64Value { tracked[String(key.dropLast(Self.batchesTrackedSuffix.count))] = value }
        }
        return tracked
    }

    /// Checks the state_dict against what `network` expects: one error naming the first
    /// missing or unexpected key, or the key whose shape or dtype differs (both shapes).
    public func validate(for network: NetworkDescription) throws {
        let expected = network.parameters
        let expectedKeys = Set(expected.map(\.key))
        for spec in expected {
            guard let tensor = tensors[spec.key] else {
                throw WeightError("missing key '\(spec.key)' (expected shape \(spec.shape)); is this checkpoint for another config?")
            }
            guard tensor.shape == spec.shape else {
                throw WeightError("key '\(spec.key)' has shape \(tensor.shape) in the checkpoint but the config needs \(spec.shape)")
            }
            guard tensor.dtype == .float32 else {
                throw WeightError("key '\(spec.key)' is \(tensor.dtype.rawValue); float32 is needed")
            }
        }
        if let extra = tensors.keys.sorted().first(where: { !expectedKeys.contains($0) && !Self.isIgnorable($0) }) {
            throw WeightError("unexpected key '\(extra)' (shape \(tensors[extra]!.shape)); is this checkpoint for another config?")
        }
    }
}

extension StateDict {
    /// A 64-bit hash of the config and of every float32 tensor (names, shapes, bits), in
    /// name order, as 16 hex digits. Not cryptographic: it tells models apart.
    public func fingerprint(config: RANetConfig) -> String {
        var hash = StableHash()
        hash.add(config.jsonValue.description)
        for key in tensors.keys.sorted() where tensors[key]!.dtype == .float32 {
            let t = tensors[key]!
            hash.add(key)
            t.shape.forEach { hash.mix(UInt64($0)) }
            t.values.forEach { hash.mix(UInt64($0.bitPattern)) }
        }
        return hash.hex
    }
}

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

/// Weights that do not fit the network.
public struct WeightError: Error, CustomStringConvertible {
    /// What does not fit: the key, and both shapes where they differ.
    public let message: String
    /// An error with this message.
    public init(_ message: String) { self.message = message }
    /// `weights do not fit: message`.
    public var description: String { "weights do not fit: \(message)" }
}

extension StateDict {
    /// Whether a tensor is a convolution's or classifier's weight (a float32 tensor of two or
    /// more dimensions): what a bf16 model file stores in bf16.
    static func isWeight(_ tensor: StoredTensor) -> Bool { tensor.dtype == .float32 && tensor.shape.count >= 2 }

    /// This state_dict with every weight (a float32 tensor of two or more dimensions: the
    /// convolutions' and classifiers') rounded to bf16: what a file written with
    /// ``ModelFile/write(_:weights:to:)`` in ``Precision/bf16`` reads back as.
    public func roundingWeightsToBF16() -> StateDict {
        StateDict(tensors: tensors.mapValues { tensor in
            guard Self.isWeight(tensor) else { return tensor }
            var values = tensor.values
            values.withUnsafeMutableBufferPointer { cranet_round_bf16($0.baseAddress, $0.baseAddress, $0.count) }
            return StoredTensor(shape: tensor.shape, values: values)
        })
    }
}
