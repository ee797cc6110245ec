import Foundation

/// Reads checkpoints in the authors' format: `torch.save`'s zip archive holding a pickle
/// (`*/data.pkl`) and one file per tensor storage (`*/data/KEY`). The state_dict may be
/// the pickle's top level or nested under `state_dict`, with or without `module.` prefixes;
/// other entries (epoch, optimizer state, ...) are skipped without being interpreted.
public enum TorchCheckpoint {
    /// Loads the state_dict of a checkpoint file.
    public static func readStateDict(contentsOf url: URL) throws -> StateDict {
        try readStateDict(FileBytes(contentsOf: url, what: "checkpoint"), path: url.path)
    }

    static func readStateDict(_ file: FileBytes, path: String) throws -> StateDict {
        try read(file, path: path).stateDict
    }

    /// What a training checkpoint of the authors' `main.py` holds besides the weights.
    public struct Contents: Sendable {
        /// The weights and running statistics (keys without `module.`).
        public var stateDict: StateDict
        /// `num_batches_tracked` of each batch norm, by its key (`….net.1`).
        public var batchesTracked: [String: Int64]
        /// The optimizer's momentum buffers, by parameter index (`optimizer.state[i]`).
        public var momentumBuffers: [Int: [Float]]
        /// `epoch`: the next epoch to run.
        public var epoch: Int?
        /// `best_prec1`: the best validation top-1 so far.
        public var bestPrecision: Double?

        /// Contents from their parts.
        public init(stateDict: StateDict, batchesTracked: [String: Int64] = [:], momentumBuffers: [Int: [Float]] = [:],
                    epoch: Int? = nil, bestPrecision: Double? = nil) {
            self.stateDict = stateDict
            self.batchesTracked = batchesTracked
            self.momentumBuffers = momentumBuffers
            self.epoch = epoch
            self.bestPrecision = bestPrecision
        }
    }

    /// Reads a checkpoint with everything training needs to continue.
    public static func readContents(contentsOf url: URL) throws -> Contents {
        try read(FileBytes(contentsOf: url, what: "checkpoint"), path: url.path)
    }

    /// Reads the tensors of a dict of tensors nested under `key` at the top of a torch
    /// file (e.g. `{"grad": {name: tensor}}`), names without `module.`.
    public static func readTensors(contentsOf url: URL, under key: String) throws -> StateDict {
        try read(FileBytes(contentsOf: url, what: "checkpoint"), path: url.path, dictKey: key).stateDict
    }

    /// Reads a file `torch.save` wrote for one 1-D int64 tensor, such as the authors'
    /// `index.pth` (the permutation their `--use-valid` splits by).
    public static func readIndices(contentsOf url: URL) throws -> [Int] {
        let (archive, root, top) = try open(data: readFile(url, what: "index file"), path: url.path)
        // The pickle reader has checked the view against its storage's length; the storage
        // must then fit its zip entry.
        guard case .tensor(let t) = top, t.dtype == .int64, t.shape.count == 1,
              let entry = archive.entries["\(root)data/\(t.storageKey)"], t.storageCount <= entry.range.count / 8 else {
            throw FileError(path: url.path, message: "not a saved 1-D int64 tensor")
        }
        return archive.data.withUnsafeBytes { raw in
            (0..<t.shape[0]).map { Int(raw.loadUnaligned(fromByteOffset: entry.range.lowerBound + (t.offset + $0 * t.strides[0]) * 8, as: Int64.self)) }
        }
    }

    /// The archive of a torch file, its folder prefix and its unpickled top value.
    private static func open(data: Data, path: String) throws -> (ZipArchive, String, PickleValue) {
        guard data.count >= 4, data.prefix(4).elementsEqual([0x50, 0x4B, 0x03, 0x04]) else {
            if data.first == 0x80 {
                throw FileError(path: path, message: "a legacy (pre-1.6, non-zip) torch file; re-save it with a current torch.save")
            }
            throw FileError(path: path, message: "not a checkpoint (expected the zip archive torch.save writes)")
        }
        let archive = try ZipArchive(data: data, path: path)
        guard let pickleEntry = archive.entries.values.filter({ $0.name.hasSuffix("data.pkl") }).min(by: { $0.name.count < $1.name.count }) else {
            throw FileError(path: path, message: "not a checkpoint (no data.pkl in the archive)")
        }
        let root = String(pickleEntry.name.dropLast("data.pkl".count))
        return (archive, root, try PickleReader(path: path).read(archive.contents(of: pickleEntry)))
    }

    static func read(_ file: FileBytes, path: String, dictKey: String = "state_dict") throws -> Contents {
        let (archive, root, top) = try open(data: file.data, path: path)
        guard case .dict(let topDict) = top else { throw FileError(path: path, message: "checkpoint holds no dict") }
        var stateDict = topDict
        if let nested = topDict[dictKey] {
            guard case .dict(let d) = nested else { throw FileError(path: path, message: "'\(dictKey)' is not a dict") }
            stateDict = d
        }
        var tensors: [String: StoredTensor] = [:]
        for (key, value) in stateDict.entries {
            guard case .string(var name) = key else { throw FileError(path: path, message: "state_dict has a non-string key") }
            guard case .tensor(let t) = value else {
                throw FileError(path: path, message: "state_dict entry '\(name)' is not a tensor")
            }
            if name.hasPrefix("module.") { name.removeFirst("module.".count) }
            if t.dtype == .int64, t.shape.isEmpty {
                tensors[name] = StoredTensor(int64: try integer(t, name: name, archive: archive, root: root, path: path))
            } else {
                tensors[name] = try materialize(t, name: name, archive: archive, file: file, root: root, path: path)
            }
        }
        guard !tensors.isEmpty else { throw FileError(path: path, message: "checkpoint has an empty \(dictKey)") }
        var momentum: [Int: [Float]] = [:]
        if case .dict(let optimizer)? = topDict["optimizer"], case .dict(let states)? = optimizer["state"] {
            for (key, value) in states.entries {
                guard case .int(let index) = key, case .dict(let entry) = value, case .tensor(let t)? = entry["momentum_buffer"] else { continue }
                momentum[index] = try materialize(t, name: "optimizer.state[\(index)]", archive: archive, file: file, root: root, path: path).values
            }
        }
        var epoch: Int?
        if case .int(let e)? = topDict["epoch"] { epoch = e }
        var best: Double?
        switch topDict["best_prec1"] {
        case .float(let v)?: best = v
        case .int(let v)?: best = Double(v)
        default: break
        }
        let weights = StateDict(tensors: tensors)
        return Contents(stateDict: weights, batchesTracked: weights.batchesTracked, momentumBuffers: momentum,
                        epoch: epoch, bestPrecision: best)
    }

    /// The value of a 0-dimensional int64 tensor.
    private static func integer(_ t: PickledTensor, name: String, archive: ZipArchive, root: String, path: String) throws -> Int64 {
        guard let entry = archive.entries["\(root)data/\(t.storageKey)"], t.offset < entry.range.count / 8 else {
            throw FileError(path: path, message: "storage of '\(name)' is missing or short")
        }
        return archive.data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: entry.range.lowerBound + t.offset * 8, as: Int64.self) }
    }

    private static func materialize(_ t: PickledTensor, name: String, archive: ZipArchive, file: FileBytes, root: String,
                                    path: String) throws -> StoredTensor {
        guard t.dtype == .float32 else { return StoredTensor(dtype: t.dtype, shape: t.shape, values: []) }
        guard let entry = archive.entries["\(root)data/\(t.storageKey)"] else {
            throw FileError(path: path, message: "storage '\(t.storageKey)' of '\(name)' is missing from the archive")
        }
        guard t.storageCount <= entry.range.count / 4 else {
            throw FileError(path: path, message: "storage of '\(name)' is shorter than its \(t.storageCount) elements")
        }
        if t.strides == Self.contiguousStrides(t.shape) {
            return StoredTensor(shape: t.shape, file: file, byteOffset: entry.range.lowerBound + t.offset * 4)
        }
        let count = t.shape.reduce(1, *)
        var values = [Float](repeating: 0, count: count)
        archive.data.withUnsafeBytes { raw in
            let base = raw.baseAddress!.advanced(by: entry.range.lowerBound)
            for flat in 0..<count {
                var rest = flat, at = t.offset
                for d in (0..<t.shape.count).reversed() {
                    at += (rest % t.shape[d]) * t.strides[d]
                    rest /= t.shape[d]
                }
                values[flat] = base.loadUnaligned(fromByteOffset: at * 4, as: Float.self)
            }
        }
        return StoredTensor(dtype: .float32, shape: t.shape, values: values)
    }

    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        for d in stride(from: shape.count - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * shape[d + 1] }
        return strides
    }
}
