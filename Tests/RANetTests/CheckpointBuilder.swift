import Foundation

/// Builds checkpoints the way `torch.save` lays them out (a stored zip with
/// `NAME/data.pkl` and `NAME/data/KEY`), so the readers can be tested on small,
/// hand-made and deliberately broken files.
struct CheckpointBuilder {
    var tensors: [(key: String, shape: [Int], values: [Float])] = []
    /// Replaces `collections OrderedDict` in the pickle, to test refusal of other globals.
    var dictGlobal = "collections\nOrderedDict\n"
    /// Wrap the state_dict as `{"epoch": 1, "state_dict": ...}` like the authors' code.
    var nested = true

    func pickle() -> Data {
        var p = Data([0x80, 0x02])
        func unicode(_ s: String) {
            p.append(0x58)
            p.append(contentsOf: withUnsafeBytes(of: UInt32(s.utf8.count).littleEndian, Array.init))
            p.append(contentsOf: Array(s.utf8))
        }
        func int(_ v: Int) {
            p.append(0x4A)
            p.append(contentsOf: withUnsafeBytes(of: Int32(v).littleEndian, Array.init))
        }
        func tuple(_ values: [Int]) {
            p.append(0x28)
            values.forEach(int)
            p.append(0x74)
        }
        if nested {
            p.append(contentsOf: [0x7D, 0x28])  // EMPTY_DICT MARK
            unicode("epoch"); int(1)
            unicode("state_dict")
        }
        p.append(0x63); p.append(contentsOf: Array(dictGlobal.utf8))
        p.append(contentsOf: [0x29, 0x52, 0x28])  // EMPTY_TUPLE REDUCE MARK
        for (index, t) in tensors.enumerated() {
            unicode("module." + t.key)
            p.append(0x63); p.append(contentsOf: Array("torch._utils\n_rebuild_tensor_v2\n".utf8))
            p.append(contentsOf: [0x28, 0x28])  // MARK MARK (args tuple, persistent id tuple)
            unicode("storage")
            p.append(0x63); p.append(contentsOf: Array("torch\nFloatStorage\n".utf8))
            unicode(String(index)); unicode("cpu"); int(t.values.count)
            p.append(contentsOf: [0x74, 0x51])  // TUPLE BINPERSID
            int(0)
            tuple(t.shape)
            var strides = [Int](repeating: 1, count: t.shape.count)
            for d in stride(from: t.shape.count - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * t.shape[d + 1] }
            tuple(strides)
            p.append(0x89)  // NEWFALSE
            p.append(0x63); p.append(contentsOf: Array("collections\nOrderedDict\n".utf8))
            p.append(contentsOf: [0x29, 0x52, 0x74, 0x52])  // EMPTY_TUPLE REDUCE TUPLE REDUCE
        }
        p.append(0x75)  // SETITEMS
        if nested { p.append(0x75) }
        p.append(0x2E)  // STOP
        return p
    }

    func archive() -> Data {
        var files = [("archive/data.pkl", pickle()), ("archive/version", Data("3\n".utf8))]
        for (index, t) in tensors.enumerated() {
            files.append(("archive/data/\(index)", t.values.withUnsafeBytes { Data($0) }))
        }
        return Self.storedZip(files)
    }

    /// A zip of stored entries with a central directory.
    static func storedZip(_ files: [(String, Data)]) -> Data {
        var out = Data(), directory = Data()
        func u16(_ v: Int, _ d: inout Data) { d.append(contentsOf: withUnsafeBytes(of: UInt16(v).littleEndian, Array.init)) }
        func u32(_ v: Int, _ d: inout Data) { d.append(contentsOf: withUnsafeBytes(of: UInt32(v).littleEndian, Array.init)) }
        for (name, data) in files {
            let offset = out.count
            u32(0x0403_4b50, &out); u16(20, &out); u16(0, &out); u16(0, &out); u16(0, &out); u16(0, &out)
            u32(0, &out); u32(data.count, &out); u32(data.count, &out); u16(name.utf8.count, &out); u16(0, &out)
            out.append(contentsOf: Array(name.utf8)); out.append(data)
            u32(0x0201_4b50, &directory); u16(20, &directory); u16(20, &directory); u16(0, &directory); u16(0, &directory)
            u16(0, &directory); u16(0, &directory); u32(0, &directory); u32(data.count, &directory); u32(data.count, &directory)
            u16(name.utf8.count, &directory); u16(0, &directory); u16(0, &directory); u16(0, &directory); u16(0, &directory)
            u32(0, &directory); u32(offset, &directory); directory.append(contentsOf: Array(name.utf8))
        }
        let directoryOffset = out.count
        out.append(directory)
        u32(0x0605_4b50, &out); u16(0, &out); u16(0, &out); u16(files.count, &out); u16(files.count, &out)
        u32(directory.count, &out); u32(directoryOffset, &out); u16(0, &out)
        return out
    }
}
