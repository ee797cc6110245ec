/// An exit's head that can run on one thread while the next block runs on another.
///
/// A head (the classifier's convolutions, its pooling and its linear layer) reads one
/// slice of the trunk and writes its exit's logits; the next block reads nothing the head
/// writes. So an image alone can overlap each head with the block after it: at ImageNet
/// scale the heads hold 0.44 GB of the 0.52 GB of weights and stream them from memory,
/// while the blocks compute. ``ExecutionPlan`` keeps a head's tensors apart from the
/// block's while both run.
struct ExitOverlap: Equatable {
    /// The head's layers, the exit's linear layer last.
    let head: ClosedRange<Int>
    /// The block after it: every layer up to the next head.
    let block: Range<Int>

    /// The heads of `network` that can overlap the block after them: all but the last,
    /// where the block writes none of the channels its head reads.
    static func all(in network: NetworkDescription) -> [ExitOverlap] {
        let layers = network.layers
        var readers = [[Int]](repeating: [], count: network.tensors.count), writers = readers
        for (i, layer) in layers.enumerated() {
            readers[layer.input.tensor].append(i)
            writers[layer.output.tensor].append(i)
        }
        let heads = layers.indices.filter { if case .linear = layers[$0].operation { return true }; return false }.map { exit in
            // Back along the tensors private to the head: each written by one layer, read by the next.
            var start = exit
            while start > 0 {
                let t = layers[start].input.tensor
                guard writers[t] == [start - 1], readers[t] == [start] else { break }
                start -= 1
            }
            return start...exit
        }
        return zip(heads, heads.dropFirst()).compactMap { head, next in
            let block = (head.upperBound + 1)..<next.lowerBound
            let read = layers[head.lowerBound].input
            let clobbers = block.contains { i in
                let o = layers[i].output
                return o.tensor == read.tensor && o.offset < read.offset + read.channels && read.offset < o.offset + o.channels
            }
            return block.isEmpty || clobbers ? nil : ExitOverlap(head: head, block: block)
        }
    }
}
