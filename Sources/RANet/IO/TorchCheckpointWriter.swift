import Foundation

extension TorchCheckpoint {
    /// Writes a checkpoint in the layout of the authors' `save_checkpoint`:
    /// `{"epoch", "arch": "RANet", "state_dict", "best_prec1", "optimizer"}`, the state_dict
    /// an OrderedDict with DataParallel's `module.` prefix in their modules' order (with
    /// `num_batches_tracked`), the optimizer's state as `torch.optim.SGD.state_dict()`
    /// gives it. `torch.load(path, weights_only=True)` reads it; so does ``readContents(contentsOf:)``.
    /// The file appears complete or not at all.
    public static func write(_ contents: Contents, network: NetworkDescription, optimizer: SGD, learningRate: Double,
                             to url: URL) throws {
        try contents.stateDict.validate(for: network)
        let folder = url.deletingPathExtension().deletingPathExtension().lastPathComponent
        let root = folder.isEmpty ? "archive" : folder
        var zip = ZipWriter()
        var storages: [(String, Data)] = []
        func storage(_ payload: Data) -> String {
            let key = String(storages.count)
            storages.append((key, payload))
            return key
        }
        func floats(_ values: [Float]) -> Data { values.withUnsafeBytes { Data($0) } }

        let order = TrainingState.registrationOrder(network.parameters)
        var entries: [(String, PickleOutput)] = []
        for spec in order {
            let tensor = contents.stateDict.tensors[spec.key]!
            entries.append(("module." + spec.key, .tensor(storage: storage(floats(tensor.values)), dtype: .float32, shape: spec.shape)))
            if spec.key.hasSuffix(".running_var") {
                let bn = String(spec.key.dropLast(".running_var".count))
                let count = contents.batchesTracked[bn] ?? 0
                let key = storage(withUnsafeBytes(of: count.littleEndian) { Data($0) })
                entries.append(("module." + bn + ".num_batches_tracked", .tensor(storage: key, dtype: .int64, shape: [])))
            }
        }
        let parameters = order.filter(\.isTrainable)
        var state: [(PickleOutput, PickleOutput)] = []
        for (index, spec) in parameters.enumerated() {
            guard let buffer = contents.momentumBuffers[index] else { continue }
            guard buffer.count == spec.elementCount else {
                throw WeightError("momentum buffer \(index) has \(buffer.count) values; '\(spec.key)' has \(spec.elementCount)")
            }
            let tensor = PickleOutput.tensor(storage: storage(floats(buffer)), dtype: .float32, shape: spec.shape)
            state.append((.int(index), .dict([(.string("momentum_buffer"), tensor)])))
        }
        let group: PickleOutput = .dict([
            (.string("lr"), .float(learningRate)), (.string("momentum"), .float(optimizer.momentum)),
            (.string("dampening"), .int(0)), (.string("weight_decay"), .float(optimizer.weightDecay)),
            (.string("nesterov"), .bool(false)), (.string("maximize"), .bool(false)), (.string("foreach"), .none),
            (.string("differentiable"), .bool(false)), (.string("fused"), .none),
            (.string("params"), .list(parameters.indices.map { .int($0) })),
        ])
        let top: PickleOutput = .dict([
            (.string("epoch"), .int(contents.epoch ?? 0)),
            (.string("arch"), .string("RANet")),
            (.string("state_dict"), .orderedDict(entries)),
            (.string("best_prec1"), .float(contents.bestPrecision ?? 0)),
            (.string("optimizer"), .dict([(.string("state"), .dict(state)), (.string("param_groups"), .list([group]))])),
        ])
        zip.add("\(root)/data.pkl", PickleWriter.encode(top))
        zip.add("\(root)/byteorder", Data("little".utf8))
        for (key, payload) in storages { zip.add("\(root)/data/\(key)", payload) }
        zip.add("\(root)/version", Data("3\n".utf8))
        try writeFileAtomically(try zip.finished(), to: url)
    }
}

extension TorchCheckpoint {
    /// Writes `indices` as `torch.save(torch.tensor(indices))` does: a 1-D int64 tensor,
    /// such as the `index.pth` a `--use-valid` run splits its data by.
    public static func writeIndices(_ indices: [Int], to url: URL) throws {
        let root = url.deletingPathExtension().lastPathComponent
        var zip = ZipWriter()
        zip.add("\(root)/data.pkl", PickleWriter.encode(.tensor(storage: "0", dtype: .int64, shape: [indices.count])))
        zip.add("\(root)/byteorder", Data("little".utf8))
        zip.add("\(root)/data/0", indices.map { Int64($0).littleEndian }.withUnsafeBytes { Data($0) })
        zip.add("\(root)/version", Data("3\n".utf8))
        try writeFileAtomically(try zip.finished(), to: url)
    }
}

extension TrainingState {
    /// The state as a checkpoint's contents, with the epoch to resume at and the best
    /// validation top-1 so far.
    public func checkpointContents(epoch: Int, bestPrecision: Double) -> TorchCheckpoint.Contents {
        TorchCheckpoint.Contents(stateDict: stateDict, batchesTracked: batchesTracked, momentumBuffers: momentumBuffers,
                                 epoch: epoch, bestPrecision: bestPrecision)
    }
}
