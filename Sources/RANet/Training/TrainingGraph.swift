import CRANet

/// The network in training mode for batches of one size: every tensor of the forward
/// pass for the whole batch (kept for the backward pass), a gradient of the same layout,
/// and each layer's training layer from the C bridge (oneDNN's primitives, or the row
/// kernels for convolutions of few channels; batch norm and the align-corners resize the
/// bridge's own).
///
/// A tensor is `batch` images of the description's tensor, NCHW; a layer's slice of it
/// is a channel range, so the dense blocks' concatenations are free forward and sum
/// their gradients in place backward.
final class TrainingGraph {
    let network: NetworkDescription
    let batch: Int
    /// The OpenMP threads the primitives were created for, and run with on any thread.
    private let threads: Int
    private let engine: OpaquePointer
    private let stream: OpaquePointer
    /// Activations and their gradients, one arena each, laid out alike.
    private let activations: UnsafeMutablePointer<Float>
    private let gradients: UnsafeMutablePointer<Float>
    private let arenaFloats: Int
    private let tensorOffsets: [Int]
    /// The training layer of each layer.
    private var layers: [OpaquePointer] = []
    /// Batch statistics of each batch norm from the last forward pass: means, then sums of squares.
    private var statistics: [[Float]]

    /// Bytes the graph holds: arenas and the primitives' own buffers.
    private(set) var bytes = 0
    /// Convolutions computed by the row kernels (the others by oneDNN).
    private(set) var rowConvolutions = 0

    /// Primitives are created for `threads` OpenMP threads: oneDNN splits their work (and
    /// so their sums' order) by the thread count at creation, which must stay the count
    /// they run with for results not to depend on what ran before.
    init(network: NetworkDescription, batch: Int, threads: Int, convolutions: TrainingConvolutions) throws {
        precondition(batch >= 1)
        self.threads = threads
        cranet_set_num_threads(Int32(threads))
        self.network = network
        self.batch = batch
        var offsets: [Int] = []
        var total = 0
        for tensor in network.tensors {
            offsets.append(total)
            total += tensor.elementCount * batch
        }
        tensorOffsets = offsets
        arenaFloats = total
        // Aligned to cache lines, as oneDNN aligns its own buffers.
        activations = Self.allocateArena(total)
        gradients = Self.allocateArena(total)
        statistics = network.layers.map { layer in
            if case .conv = layer.operation { return [Float](repeating: 0, count: 2 * layer.output.channels) }
            return []
        }
        var engine: OpaquePointer?, stream: OpaquePointer?
        try bridgeCall { cranet_engine_create(&engine, $0, $1) }
        self.engine = engine!
        do {
            try bridgeCall { cranet_stream_create(engine, &stream, $0, $1) }
        } catch {
            cranet_engine_destroy(engine)
            activations.deallocate()
            gradients.deallocate()
            throw error
        }
        self.stream = stream!
        // Fully initialized from here: if a layer fails, deinit releases what was made.
        bytes = 2 * total * MemoryLayout<Float>.size
        let rows = convolutions.rowKernels
        for layer in network.layers {
            let op = try Self.makeLayer(layer, network: network, batch: batch, engine: engine!, rows: rows)
            bytes += cranet_train_layer_bytes(op)
            rowConvolutions += Int(cranet_train_layer_on_rows(op))
            layers.append(op)
        }
    }

    deinit {
        layers.forEach { cranet_train_layer_destroy($0) }
        cranet_stream_destroy(stream)
        cranet_engine_destroy(engine)
        activations.deallocate()
        gradients.deallocate()
    }

    private static func allocateArena(_ floats: Int) -> UnsafeMutablePointer<Float> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(floats, 1) * 4, alignment: 64)
        return raw.initializeMemory(as: Float.self, repeating: 0, count: max(floats, 1))
    }

    private static func view(_ slice: TensorSlice, network: NetworkDescription, batch: Int) -> cranet_batch_view {
        let t = network.tensors[slice.tensor]
        return cranet_batch_view(batch: Int32(batch), channels: Int32(slice.channels), height: Int32(t.height),
                                 width: Int32(t.width), image_stride: t.elementCount)
    }

    private static func makeLayer(_ layer: Layer, network: NetworkDescription, batch: Int, engine: OpaquePointer,
                                  rows: OpaquePointer?) throws -> OpaquePointer {
        let src = view(layer.input, network: network, batch: batch), dst = view(layer.output, network: network, batch: batch)
        var op: OpaquePointer?
        switch layer.operation {
        case .conv(let unit):
            try bridgeCall {
                cranet_train_conv_create(engine, rows, src, dst, Int32(unit.kernel), Int32(unit.stride), Int32(unit.padding),
                                         unit.hasBias ? 1 : 0, Float(WeightFolding.epsilon), &op, $0, $1)
            }
        case .maxPool(let kernel, let stride, let padding):
            try bridgeCall { cranet_train_pool_create(engine, CRANET_POOL_MAX, src, dst, Int32(kernel), Int32(stride), Int32(padding), &op, $0, $1) }
        case .avgPool(let kernel):
            try bridgeCall { cranet_train_pool_create(engine, CRANET_POOL_AVG, src, dst, Int32(kernel), Int32(kernel), 0, &op, $0, $1) }
        case .linear:
            try bridgeCall { cranet_train_linear_create(engine, src, dst, &op, $0, $1) }
        case .resize:
            try bridgeCall { cranet_train_resize_create(engine, src, dst, &op, $0, $1) }
        }
        return op!
    }

    private func base(_ slice: TensorSlice, in arena: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> {
        let t = network.tensors[slice.tensor]
        return arena + tensorOffsets[slice.tensor] + slice.offset * t.height * t.width
    }

    /// Where image `n`'s logits of every exit are (exits × classes).
    func logits(image n: Int) -> UnsafeMutablePointer<Float> {
        activations + tensorOffsets[network.logitsTensor] + n * network.tensors[network.logitsTensor].elementCount
    }

    /// Where the loss's gradient with respect to image `n`'s logits goes.
    func logitsGradient(image n: Int) -> UnsafeMutablePointer<Float> {
        gradients + tensorOffsets[network.logitsTensor] + n * network.tensors[network.logitsTensor].elementCount
    }

    /// The batch statistics of layer `index`'s batch norm from the last forward pass: the
    /// mean and the sum of squared deviations from it, per channel.
    func batchStatistics(layer index: Int) -> (mean: ArraySlice<Float>, squareSum: ArraySlice<Float>) {
        let s = statistics[index], c = s.count / 2
        return (s[0..<c], s[c...])
    }

    /// The forward pass in training mode on `images` (batch × 3 × size × size).
    func forward(_ images: UnsafePointer<Float>, state: TrainingState) throws {
        cranet_set_num_threads(Int32(threads))
        let input = network.tensors[network.inputTensor]
        (activations + tensorOffsets[network.inputTensor]).update(from: images, count: input.elementCount * batch)
        for (index, layer) in network.layers.enumerated() {
            let src = base(layer.input, in: activations), dst = base(layer.output, in: activations)
            let op = layers[index]
            var b = cranet_train_buffers()
            b.src = UnsafePointer(src)
            b.dst = dst
            try statistics[index].withUnsafeMutableBufferPointer { stats in
                switch layer.operation {
                case .conv(let unit):
                    b.weights = UnsafePointer(state.pointer(unit.convKey + ".weight"))
                    if unit.hasBias { b.bias = UnsafePointer(state.pointer(unit.convKey + ".bias")) }
                    b.gamma = UnsafePointer(state.pointer(unit.bnKey + ".weight"))
                    b.beta = UnsafePointer(state.pointer(unit.bnKey + ".bias"))
                    b.batch_mean = stats.baseAddress
                    b.batch_var_sum = stats.baseAddress! + layer.output.channels
                case .linear(let key, _):
                    b.weights = UnsafePointer(state.pointer(key + ".weight"))
                    b.bias = UnsafePointer(state.pointer(key + ".bias"))
                default:
                    break
                }
                try bridgeCall { cranet_train_layer_forward(op, stream, &b, $0, $1) }
            }
        }
    }

    /// The backward pass from the logits' gradient (already written by the loss): every
    /// parameter's gradient into `state`'s gradient buffer.
    func backward(state: TrainingState) throws {
        cranet_set_num_threads(Int32(threads))
        let logits = network.tensors[network.logitsTensor]
        let logitsStart = tensorOffsets[network.logitsTensor], logitsCount = logits.elementCount * batch
        // Every other gradient is a sum its readers build up from zero.
        gradients.update(repeating: 0, count: logitsStart)
        (gradients + logitsStart + logitsCount).update(repeating: 0, count: arenaFloats - logitsStart - logitsCount)
        for (index, layer) in network.layers.enumerated().reversed() {
            let needsInputGradient = layer.input.tensor != network.inputTensor
            let diffDst = base(layer.output, in: gradients), diffSrc = base(layer.input, in: gradients)
            let op = layers[index]
            var b = cranet_train_buffers()
            b.diff_dst = UnsafePointer(diffDst)
            b.diff_src = needsInputGradient ? diffSrc : nil
            switch layer.operation {
            case .conv(let unit):
                b.diff_weights = state.gradient(unit.convKey + ".weight")
                if unit.hasBias { b.diff_bias = state.gradient(unit.convKey + ".bias") }
                b.diff_gamma = state.gradient(unit.bnKey + ".weight")
                b.diff_beta = state.gradient(unit.bnKey + ".bias")
            case .linear(let key, _):
                b.diff_weights = state.gradient(key + ".weight")
                b.diff_bias = state.gradient(key + ".bias")
            default:
                break
            }
            try bridgeCall { cranet_train_layer_backward(op, stream, &b, $0, $1) }
        }
    }
}
