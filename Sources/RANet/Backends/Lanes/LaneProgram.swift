import CRANet

/// The network for the lane kernels, which compute a group of images side by side,
/// one image per vector lane (`cranet_lane_*` in the C bridge): per layer, the
/// kernel to call and its folded, repacked weights. Immutable once built; shared by
/// every ``LaneExecution``.
///
/// Why a second representation next to ``OneDNNNetwork``: oneDNN 2.6 runs these
/// layers one image at a time (a channel slice of a batched tensor is a strided
/// descriptor, which only its reference kernels take), and on RANet's convolutions
/// of a few channels over small maps its per-image kernels keep the vector units
/// mostly idle. With the batch in the lanes, every layer is dense vector work.
///
/// At width 1 (the row kernels: one image, plain [C][H][W], which is oneDNN's NCHW at
/// batch 1) some layers may run oneDNN primitives instead, where they measured faster
/// (``SingleImagePlan``).
final class LaneProgram: @unchecked Sendable {
    enum Kernel {
        /// Weights and bias at these float offsets of ``parameters``; `layout` is the C
        /// side's: whether the input is staged first, and the shape the kernel reads.
        case conv(weights: Int, bias: Int, kernel: Int, stride: Int, padding: Int, output: cranet_conv_output, layout: cranet_conv_layout)
        case pool(cranet_pool_kind, kernel: Int, stride: Int, padding: Int)
        case resize
        /// A oneDNN primitive of ``oneDNN``, reading and writing the arena's NCHW slices.
        case primitive(OpaquePointer)
    }

    /// The C kernel table that runs every layer (lane kernels of one width, or the row
    /// kernels of one vector width): what the weights are packed for.
    let kernelTable: OpaquePointer
    /// Images computed at once: the lane width, or 1 for the row kernels.
    let lanes: Int
    /// One kernel per layer of the network, in order.
    let kernels: [Kernel]
    /// Every layer's weights and biases, back to back.
    let parameters: [Float]
    /// The primitives of the layers oneDNN runs (row kernels only), kept alive with the program.
    let oneDNN: OneDNNLayers?

    /// Every layer in `kernelTable`'s kernels, except the layers `oneDNN` has a primitive
    /// for (only with the row kernels, whose layout is oneDNN's).
    init(network: NetworkDescription, stateDict: StateDict, kernelTable: OpaquePointer, oneDNN: OneDNNLayers? = nil) {
        self.kernelTable = kernelTable
        lanes = Int(cranet_kernels_images(kernelTable))
        precondition(oneDNN == nil || lanes == 1, "oneDNN primitives take one image in NCHW: row kernels only")
        self.oneDNN = oneDNN
        func shape(_ slice: TensorSlice) -> cranet_shape {
            let (c, h, w) = network.shape(of: slice)
            return cranet_shape(channels: Int32(c), height: Int32(h), width: Int32(w))
        }
        // Each convolution (a fully connected layer on a 1×1 map is a 1×1 convolution) as
        // the kernel table lays it out, once per layer: for sizing, packing and running.
        let layouts = network.layers.enumerated().map { index, layer -> cranet_conv_layout? in
            guard oneDNN?.primitives[index] == nil else { return nil }
            let (kernel, stride, padding): (Int, Int, Int)
            switch layer.operation {
            case .conv(let unit): (kernel, stride, padding) = (unit.kernel, unit.stride, unit.padding)
            case .linear: (kernel, stride, padding) = (1, 1, 0)
            case .maxPool, .avgPool, .resize: return nil
            }
            return cranet_lane_conv_layout(kernelTable, shape(layer.input), shape(layer.output), Int32(kernel), Int32(stride), Int32(padding))
        }
        // Each convolution's packed weights then its bias: sized first, so that the array
        // is allocated once at its final size (growing it would hold two copies at once).
        var parameters: [Float] = []
        parameters.reserveCapacity(zip(network.layers, layouts).reduce(0) { total, item in
            guard let layout = item.1 else { return total }
            return total + layout.packed_floats + item.0.output.channels
        })
        // Appends a convolution's weights (packed for the kernels) and bias.
        func convolution(_ oihw: [Float], _ bias: [Float], _ layer: Layer, layout: cranet_conv_layout, kernel: Int, stride: Int,
                         padding: Int, output: cranet_conv_output) -> Kernel {
            let offset = parameters.count
            let floats = layout.packed_floats
            parameters.append(contentsOf: repeatElement(0, count: floats))
            oihw.withUnsafeBufferPointer { source in
                parameters.withUnsafeMutableBufferPointer {
                    cranet_lane_pack_conv_weights(kernelTable, source.baseAddress!, Int32(layer.input.channels), shape(layer.output),
                                                  Int32(kernel), Int32(stride), $0.baseAddress! + offset)
                }
            }
            parameters += bias
            return .conv(weights: offset, bias: offset + floats, kernel: kernel, stride: stride, padding: padding, output: output,
                         layout: layout)
        }
        kernels = network.layers.enumerated().map { index, layer in
            if let op = oneDNN?.primitives[index] { return .primitive(op) }
            switch layer.operation {
            case .conv(let unit):
                let (weights, bias) = WeightFolding.fold(unit, outputs: layer.output.channels, stateDict: stateDict)
                return convolution(weights, bias, layer, layout: layouts[index]!, kernel: unit.kernel, stride: unit.stride,
                                   padding: unit.padding, output: CRANET_OUTPUT_FEATURES)
            case .linear(let key, _):
                // A 1×1 convolution storing its sums: the logits, f32 in every precision.
                return convolution(stateDict.tensors[key + ".weight"]!.values, stateDict.tensors[key + ".bias"]!.values, layer,
                                   layout: layouts[index]!, kernel: 1, stride: 1, padding: 0, output: CRANET_OUTPUT_SUMS)
            case .maxPool(let kernel, let stride, let padding):
                return .pool(CRANET_POOL_MAX, kernel: kernel, stride: stride, padding: padding)
            case .avgPool(let kernel):
                return .pool(CRANET_POOL_AVG, kernel: kernel, stride: kernel, padding: 0)
            case .resize:
                return .resize
            }
        }
        self.parameters = parameters
    }
}
