/// Where every tensor of one image lives: offsets into one arena, planned ahead from
/// the layers' order so that tensors whose lifetimes do not overlap share memory.
///
/// A tensor is live from the first layer that writes it to the last layer that reads
/// it; the input is live from the start and the logits to the end. Tensors are placed
/// largest first, each at the lowest offset free during its whole lifetime.
public struct ExecutionPlan: Sendable {
    /// Float offset of each tensor in the arena.
    public let tensorOffsets: [Int]
    /// Floats the arena of one image needs.
    public let arenaFloats: Int
    /// Floats all tensors would need without reuse (for comparison).
    public let unsharedFloats: Int
    /// The layers during which each tensor is live: from its first writer to its last
    /// reader (-1 for the input, the layer count for the logits).
    let lifetimes: [ClosedRange<Int>]
    /// The exit heads this arena lets run beside the block after them.
    let overlaps: [ExitOverlap]

    /// Tensors start on 64-byte boundaries.
    static let alignment = 16

    /// Plans the arena of one image of `network`.
    ///
    /// - Parameters:
    ///   - network: the layers and tensors to place.
    ///   - minimumFloats: tensors that need more room than their NCHW size (those kept
    ///     in a padded blocked layout), by tensor index.
    public init(network: NetworkDescription, minimumFloats: [Int: Int] = [:]) {
        self.init(network: network, minimumFloats: minimumFloats, overlaps: [])
    }

    /// Plans an arena in which each of `overlaps`' heads may run while its block does:
    /// every tensor the head touches stays live, and so apart from the block's, until the
    /// block ends.
    init(network: NetworkDescription, minimumFloats: [Int: Int] = [:], overlaps: [ExitOverlap]) {
        let count = network.tensors.count
        var first = [Int](repeating: Int.max, count: count)
        var last = [Int](repeating: Int.min, count: count)
        for (index, layer) in network.layers.enumerated() {
            for t in [layer.input.tensor, layer.output.tensor] {
                first[t] = min(first[t], index)
                last[t] = max(last[t], index)
            }
        }
        first[network.inputTensor] = -1
        last[network.logitsTensor] = network.layers.count
        for overlap in overlaps {
            for layer in network.layers[overlap.head] {
                for t in [layer.input.tensor, layer.output.tensor] {
                    first[t] = min(first[t], overlap.head.lowerBound)
                    last[t] = max(last[t], overlap.block.upperBound - 1)
                }
            }
        }
        self.overlaps = overlaps
        let sizes = network.tensors.indices.map { t in
            (max(network.tensors[t].elementCount, minimumFloats[t] ?? 0) + Self.alignment - 1) / Self.alignment * Self.alignment
        }
        lifetimes = (0..<count).map { first[$0]...max(first[$0], last[$0]) }
        (tensorOffsets, arenaFloats) = Self.place(sizes: sizes, lifetimes: lifetimes)
        unsharedFloats = sizes.reduce(0, +)
    }

    /// Offsets for buffers of `sizes` floats live during `lifetimes` (layer ranges), and
    /// the floats they need together: largest first, each at the lowest offset free during
    /// its whole lifetime.
    static func place(sizes: [Int], lifetimes: [ClosedRange<Int>]) -> (offsets: [Int], floats: Int) {
        var offsets = [Int](repeating: 0, count: sizes.count)
        var placed: [Int] = []
        for t in sizes.indices.sorted(by: { sizes[$0] != sizes[$1] ? sizes[$0] > sizes[$1] : $0 < $1 }) {
            let overlapping = placed
                .filter { lifetimes[$0].overlaps(lifetimes[t]) }
                .map { (offsets[$0], offsets[$0] + sizes[$0]) }
                .sorted { $0.0 < $1.0 }
            var offset = 0
            for (start, end) in overlapping {
                if offset + sizes[t] <= start { break }
                offset = max(offset, end)
            }
            offsets[t] = offset
            placed.append(t)
        }
        return (offsets, zip(offsets, sizes).map { $0 + $1 }.max() ?? 0)
    }

    /// An image's whole state between layer `layer` and the next: each tensor written at
    /// or before it and read after it, with the floats written so far (a dense block's
    /// tensor fills up channel range by channel range, from its first channel on).
    func liveState(after layer: Int, in network: NetworkDescription) -> [(tensor: Int, floats: Int)] {
        var written = [Int](repeating: 0, count: network.tensors.count)
        written[network.inputTensor] = network.tensors[network.inputTensor].channels
        for l in network.layers.prefix(layer + 1) {
            written[l.output.tensor] = max(written[l.output.tensor], l.output.offset + l.output.channels)
        }
        return lifetimes.indices.filter { lifetimes[$0].lowerBound <= layer && lifetimes[$0].upperBound > layer }
            .map { ($0, written[$0] * network.tensors[$0].height * network.tensors[$0].width) }
    }

    /// Float offset of a channel range in the arena (channels of a per-image NCHW tensor
    /// are contiguous, so a slice is one dense block).
    public func offset(of slice: TensorSlice, in network: NetworkDescription) -> Int {
        let t = network.tensors[slice.tensor]
        return tensorOffsets[slice.tensor] + slice.offset * t.height * t.width
    }
}
