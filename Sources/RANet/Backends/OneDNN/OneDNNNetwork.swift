import CRANet

/// The network as oneDNN primitives, one per layer (resizes run the bridge's own
/// kernel), with batch norm folded and weights in the layouts the primitives want.
/// Immutable once built; shared by every ``OneDNNExecution``.
final class OneDNNNetwork: @unchecked Sendable {
    let network: NetworkDescription
    let plan: ExecutionPlan
    let engine: OpaquePointer
    /// The primitive of each layer; nil for resizes.
    let operations: [OpaquePointer?]
    /// Bytes of scratchpad the largest primitive needs.
    let scratchpadBytes: Int

    /// OpenMP threads the primitives were planned for (oneDNN fixes that at creation).
    let threads: Int
    /// The arithmetic of the convolutions and classifiers; in bf16 every layer's output but
    /// the logits is rounded (the resizes' by ``OneDNNExecution``).
    let precision: Precision

    /// Builds the primitives for `threads` OpenMP threads (the count they must run with),
    /// computing at `precision`: in bf16 on oneDNN's bf16 kernels where it runs them, on its
    /// f32 kernels on the bf16 values elsewhere (``OneDNNKernels/unmeasured(_:)``).
    init(network: NetworkDescription, stateDict: StateDict, threads: Int, precision: Precision) throws {
        try stateDict.validate(for: network)
        self.network = network
        self.threads = threads
        self.precision = precision
        var engine: OpaquePointer?
        try bridgeCall { cranet_engine_create(&engine, $0, $1) }
        self.engine = engine!
        let chained = Self.chainedOutputs(network)
        var operations: [OpaquePointer?] = []
        var blockedFloats: [Int: Int] = [:]
        do {
            // The bridge runs the weights' reorders on one thread whatever this says (see cranet_conv_create).
            try withOpenMPThreads(threads) {
                for (index, layer) in network.layers.enumerated() {
                    let inputFrom = index > 0 && chained.contains(index - 1) ? operations[index - 1] : nil
                    let op = try Self.makeOperation(layer, network: network, stateDict: stateDict, engine: engine!, precision: precision,
                                                    kernels: .unmeasured(precision), inputFrom: inputFrom,
                                                    keepOutputBlocked: chained.contains(index))
                    if chained.contains(index), let op {
                        blockedFloats[layer.output.tensor] = (cranet_op_dst_bytes(op) + 3) / 4
                    }
                    operations.append(op)
                }
            }
        } catch {
            operations.forEach { cranet_op_destroy($0) }
            cranet_engine_destroy(engine)
            throw error
        }
        self.operations = operations
        plan = ExecutionPlan(network: network, minimumFloats: blockedFloats)
        scratchpadBytes = operations.compactMap { $0 }.map { cranet_op_scratchpad_size($0) }.max() ?? 0
    }

    /// Layers whose output stays in oneDNN's blocked layout because the next layer, a
    /// convolution too, is its only reader: a bottleneck's 1×1 feeding its 3×3, an exit
    /// head's first convolution feeding its second. Saves two reorders per pair.
    static func chainedOutputs(_ network: NetworkDescription) -> Set<Int> {
        var readers = [Int](repeating: 0, count: network.tensors.count)
        for layer in network.layers { readers[layer.input.tensor] += 1 }
        var chained: Set<Int> = []
        for i in 0..<(network.layers.count - 1) {
            let (a, b) = (network.layers[i], network.layers[i + 1])
            guard case .conv = a.operation, case .conv = b.operation else { continue }
            let t = a.output.tensor
            if b.input == a.output, readers[t] == 1, a.output.offset == 0, a.output.channels == network.tensors[t].channels {
                chained.insert(i)
            }
        }
        return chained
    }

    deinit {
        operations.forEach { cranet_op_destroy($0) }
        cranet_engine_destroy(engine)
    }

    /// The oneDNN primitive of one layer (nil for a resize, which runs the bridge's own
    /// kernel), created under the caller's OpenMP thread count; a layer with weights on
    /// `kernels`. Convolutions compute in oneDNN's blocked layouts and read and write NCHW,
    /// unless chained (`inputFrom`, `keepOutputBlocked`).
    static func makeOperation(_ layer: Layer, network: NetworkDescription, stateDict: StateDict,
                              engine: OpaquePointer, precision: Precision, kernels: OneDNNKernels, inputFrom: OpaquePointer? = nil,
                              keepOutputBlocked: Bool = false) throws -> OpaquePointer? {
        let src = view(layer.input, network: network), dst = view(layer.output, network: network)
        var op: OpaquePointer?
        switch layer.operation {
        case .conv(let unit):
            let (weights, bias) = WeightFolding.fold(unit, outputs: layer.output.channels, stateDict: stateDict)
            // Blocked layouts: measured per image on AVX-512, oneDNN's blocked kernels beat NCHW's
            // im2col + GEMM by 3–10× on RANet's convolutions, far more than the reorders cost.
            try bridgeCall {
                cranet_conv_create(engine, src, dst, Int32(unit.kernel), Int32(unit.stride), Int32(unit.padding), weights, bias, 1, 1,
                                   inputFrom, keepOutputBlocked ? 1 : 0, kernels.bridge(precision), &op, $0, $1)
            }
        case .maxPool(let kernel, let stride, let padding):
            try bridgeCall { cranet_pool_create(engine, CRANET_POOL_MAX, src, dst, Int32(kernel), Int32(stride), Int32(padding), precision.bridge, &op, $0, $1) }
        case .avgPool(let kernel):
            try bridgeCall { cranet_pool_create(engine, CRANET_POOL_AVG, src, dst, Int32(kernel), Int32(kernel), 0, precision.bridge, &op, $0, $1) }
        case .linear(let key, _):
            let weights = stateDict.tensors[key + ".weight"]!.values, bias = stateDict.tensors[key + ".bias"]!.values
            try bridgeCall { cranet_inner_product_create(engine, src, dst, weights, bias, kernels.bridge(precision), &op, $0, $1) }
        case .resize:
            return nil
        }
        return op
    }

    /// One image's slice, as the bridge's batch view of one.
    private static func view(_ slice: TensorSlice, network: NetworkDescription) -> cranet_batch_view {
        let t = network.tensors[slice.tensor]
        return cranet_batch_view(batch: 1, channels: Int32(slice.channels), height: Int32(t.height),
                                 width: Int32(t.width), image_stride: t.elementCount)
    }
}
