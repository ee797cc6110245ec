import CRANet

/// oneDNN primitives for some layers of a network, each reading and writing one image's
/// plain NCHW slices: the layout the row kernels use too, so that a single image can run
/// some layers through oneDNN and the rest through the row kernels with no reorder
/// between them (see ``SingleImagePlan``). Owns its engine and primitives.
final class OneDNNLayers: @unchecked Sendable {
    let engine: OpaquePointer
    /// OpenMP threads the primitives were planned for: the count they must run with.
    let threads: Int
    /// The primitive of each layer that has one, by layer index.
    private(set) var primitives: [Int: OpaquePointer]

    /// Creates primitives for `layers` (convolutions, pooling, classifiers; resizes have none)
    /// computing at `precision`, each on the kernels given (which
    /// ``candidates(_:precision:kernels:)`` must allow).
    init(network: NetworkDescription, stateDict: StateDict, layers: [Int: OneDNNKernels], threads: Int, precision: Precision) throws {
        var engine: OpaquePointer?
        try bridgeCall { cranet_engine_create(&engine, $0, $1) }
        self.engine = engine!
        self.threads = threads
        var primitives: [Int: OpaquePointer] = [:]
        do {
            try withOpenMPThreads(threads) {
                for (index, kernels) in layers.sorted(by: { $0.key < $1.key }) {
                    if let op = try OneDNNNetwork.makeOperation(network.layers[index], network: network, stateDict: stateDict, engine: engine!,
                                                                 precision: precision, kernels: kernels) {
                        primitives[index] = op
                    }
                }
            }
        } catch {
            primitives.values.forEach { cranet_op_destroy($0) }
            cranet_engine_destroy(engine)
            throw error
        }
        self.primitives = primitives
    }

    /// Layers oneDNN can run on `kernels` at `precision` on this CPU. The native kernels:
    /// every layer but the resizes, and in bf16 below AVX-512 (which oneDNN 2.6 refuses)
    /// none with weights. The f32 kernels on bf16 values: the layers with weights, in bf16
    /// (a pooling computes the same either way).
    static func candidates(_ network: NetworkDescription, precision: Precision, kernels: OneDNNKernels) -> [Int] {
        network.layers.indices.filter {
            switch network.layers[$0].operation {
            case .resize: return false
            case .conv, .linear: return kernels.runs(at: precision)
            case .maxPool, .avgPool: return kernels == .native
            }
        }
    }

    /// Layout reorders `layer`'s primitive runs each time (0 for a layer without one):
    /// ``SingleImagePlan/LayerChoice/reorders``.
    func reorders(layer: Int) -> Int { primitives[layer].map { Int(cranet_op_reorders($0)) } ?? 0 }

    /// Bytes of scratchpad the largest primitive needs.
    var scratchpadBytes: Int { primitives.values.map { cranet_op_scratchpad_size($0) }.max() ?? 0 }

    deinit {
        primitives.values.forEach { cranet_op_destroy($0) }
        cranet_engine_destroy(engine)
    }
}
