import Foundation

/// Reads checkpoints in the authors' format: `torch.save`'s zip archive holding a pickle
/// (`*/data.pkl`) and one file per tensor storage (`*/data/KEY`). The state_dict may be
/// the pickle's top level or nested under `state_dict`, with or without `module.` prefixes;
/// other entries (epoch, optimizer state, ...) are skipped without being interpreted.
public enum TorchCheckpoint {
    /// Loads the state_dict of a checkpoint file.
    public static func readStateDict(contentsOf url: URL) throws -> StateDict {
        try readStateDict(data: readFile(url, what: "checkpoint"), path: url.path)
    }

    static func readStateDict(data: Data, path: String) throws -> StateDict {
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
        let top = try PickleReader(path: path).read(archive.contents(of: pickleEntry))
        guard case .dict(let topDict) = top else { throw FileError(path: path, message: "checkpoint holds no dict") }
        var stateDict = topDict
        if let nested = topDict.entries.first(where: { if case .string("state_dict") = $0.key { return true }; return false }) {
            guard case .dict(let d) = nested.value else { throw FileError(path: path, message: "'state_dict' is not a dict") }
            stateDict = d
        }
        var tensors: [String: StoredTensor] = [:]
        for (key, value) in stateDict.entries {
            guard case .string(var name) = key else { throw FileError(path: path, message: "state_dict has a non-string key") }
            guard case .tensor(let t) = value else {
                throw FileError(path: path, message: "state_dict entry '\(name)' is not a tensor")
            }
            if name.hasPrefix("module.") { name.removeFirst("module.".count) }
            tensors[name] = try materialize(t, name: name, archive: archive, root: root, path: path)
        }
        guard !tensors.isEmpty else { throw FileError(path: path, message: "checkpoint has an empty state_dict") }
        return StateDict(tensors: tensors)
    }

    private static func materialize(_ t: PickledTensor, name: String, archive: ZipArchive, root: String, path: String) throws -> StoredTensor {
        guard t.dtype == .float32 else { return StoredTensor(dtype: t.dtype, shape: t.shape, values: []) }
        guard let entry = archive.entries["\(root)data/\(t.storageKey)"] else {
            throw FileError(path: path, message: "storage '\(t.storageKey)' of '\(name)' is missing from the archive")
        }
        guard t.storageCount <= entry.range.count / 4 else {
            throw FileError(path: path, message: "storage of '\(name)' is shorter than its \(t.storageCount) elements")
        }
        let count = t.shape.reduce(1, *)
        var values = [Float](repeating: 0, count: count)
        archive.data.withUnsafeBytes { raw in
            let base = raw.baseAddress!.advanced(by: entry.range.lowerBound)
            let contiguous = t.strides == Self.contiguousStrides(t.shape)
            if contiguous {
                values.withUnsafeMutableBytes { dst in
                    dst.copyMemory(from: UnsafeRawBufferPointer(start: base.advanced(by: t.offset * 4), count: count * 4))
                }
            } else {
                for flat in 0..<count {
                    var rest = flat, at = t.offset
                    for d in (0..<t.shape.count).reversed() {
                        at += (rest % t.shape[d]) * t.strides[d]
                        rest /= t.shape[d]
                    }
                    values[flat] = base.loadUnaligned(fromByteOffset: at * 4, as: Float.self)
                }
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
