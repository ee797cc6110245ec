/// Staged inputs kept from one convolution to the next.
///
/// A dense block's 1×1 convolutions read the block's concatenation, which grows by a
/// few channels per layer: 128, then 160, 192… of the same tensor. Where the kernels
/// stage that input (bf16 pairs for `VDPBF16PS`), staging it whole for each layer
/// copies the block's early channels again and again (at ImageNet scale a fifth of such
/// a layer's time). A convolution that reads from the same first channel, with the same
/// padding and stride, what an earlier one staged, while nothing has written those
/// channels since, stages only the channels after them, into the earlier one's buffer:
/// the staged values are the same, so are the sums.
///
/// The buffers of such chains of convolutions get offsets in an arena of their own,
/// planned like the tensors' (``ExecutionPlan/place(sizes:lifetimes:)``); a convolution
/// in no chain stages into the shared scratch as before.
struct StagedInputs: Equatable {
    /// Where a convolution in a chain finds its staged input.
    struct Slot: Equatable {
        /// Float offset of the chain's buffer in the arena.
        let offset: Int
        /// The first plane (channel, or pair of channels) this convolution stages: those
        /// before it hold what an earlier one staged.
        let firstPlane: Int
    }

    /// How one convolution stages its input, as the kernel table lays it out.
    struct Staging: Equatable {
        let padding: Int
        let stride: Int
        /// Channels go in pairs, one plane per pair.
        let paired: Bool
        /// Floats of the staged input.
        let floats: Int

        /// The planes `channels` channels are staged in (`cranet_lane_stage`).
        func planes(_ channels: Int) -> Int { paired ? (channels + 1) / 2 : channels }
    }

    /// Per layer: its slot, or nil where the layer stages into the shared scratch (or
    /// stages nothing).
    let slots: [Slot?]
    /// Floats of the chains' arena.
    let floats: Int

    /// Plans the chains of `network` whose layers stage their input as `staging` says
    /// (nil: no staging). Layers in `excluded` (exit heads running beside a block, which
    /// stage into a scratch of their own) take part in none.
    init(network: NetworkDescription, staging: [Staging?], excluded: [Bool]) {
        struct Key: Hashable {
            let tensor: Int, channel: Int, padding: Int, stride: Int, paired: Bool
        }
        // Per chain: its layers, with the channels staged before each.
        var chains: [[(layer: Int, stagedBefore: Int)]] = []
        var sizes: [Int] = []
        // Open chains by what they staged, with the channels staged so far.
        var open: [Key: (chain: Int, channels: Int)] = [:]
        for (i, layer) in network.layers.enumerated() {
            if let s = staging[i], !excluded[i] {
                let key = Key(tensor: layer.input.tensor, channel: layer.input.offset, padding: s.padding, stride: s.stride,
                              paired: s.paired)
                if let (chain, channels) = open[key], layer.input.channels >= channels {
                    chains[chain].append((i, channels))
                    sizes[chain] = max(sizes[chain], s.floats)
                    open[key] = (chain, layer.input.channels)
                } else {
                    chains.append([(i, 0)])
                    sizes.append(s.floats)
                    open[key] = (chains.count - 1, layer.input.channels)
                }
            }
            // A write into channels a chain staged ends it.
            let written = layer.output
            open = open.filter { key, value in
                key.tensor != written.tensor || written.offset >= key.channel + value.channels
                    || key.channel >= written.offset + written.channels
            }
        }
        let kept = chains.indices.filter { chains[$0].count > 1 }
        let (offsets, floats) = ExecutionPlan.place(
            sizes: kept.map { (sizes[$0] + ExecutionPlan.alignment - 1) / ExecutionPlan.alignment * ExecutionPlan.alignment },
            lifetimes: kept.map { chains[$0].first!.layer...chains[$0].last!.layer })
        var slots = [Slot?](repeating: nil, count: network.layers.count)
        for (offset, chain) in zip(offsets, kept) {
            for (layer, stagedBefore) in chains[chain] {
                slots[layer] = Slot(offset: offset, firstPlane: staging[layer]!.paired ? stagedBefore / 2 : stagedBefore)
            }
        }
        self.slots = slots
        self.floats = floats
    }
}
