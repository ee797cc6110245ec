/// The authors' training augmentation on a normalized image: `RandomCrop(size, padding)`
/// (zero padding, i.e. the normalized value of black) and `RandomHorizontalFlip()`.
public struct Augmentation: Sendable, Equatable {
    /// Pixels of padding before the random crop (the authors': 4).
    public var padding: Int
    /// Whether half the images are mirrored left to right.
    public var flip: Bool

    /// The authors' augmentation: 4 pixels of padding and flips.
    public init(padding: Int = 4, flip: Bool = true) {
        self.padding = padding
        self.flip = flip
    }

    /// Crops and flips `image` (3 × size × size) in place with draws from `random`;
    /// `background` is each channel's value of a black pixel.
    func apply(_ image: UnsafeMutableBufferPointer<Float>, size: Int, background: [Float], random: inout TrainingRandom,
               scratch: inout [Float]) {
        // Same draw order for every image: crop offsets, then the flip.
        let dy = padding > 0 ? random.below(2 * padding + 1) - padding : 0
        let dx = padding > 0 ? random.below(2 * padding + 1) - padding : 0
        let mirror = flip && random.below(2) == 1
        if dx == 0, dy == 0, !mirror { return }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: image)
        for c in 0..<3 {
            let plane = c * size * size
            for y in 0..<size {
                let sy = y + dy
                for x in 0..<size {
                    let sx = (mirror ? size - 1 - x : x) + dx
                    image[plane + y * size + x] = sy >= 0 && sy < size && sx >= 0 && sx < size
                        ? scratch[plane + sy * size + sx] : background[c]
                }
            }
        }
    }
}

/// The random numbers of training (shuffling, augmentation): a SplitMix64 stream per
/// epoch derived from the seed, so that a resumed run draws what an uninterrupted one does.
public struct TrainingRandom: Sendable {
    private var state: UInt64

    /// The stream of epoch `epoch` of a run seeded with `seed`.
    public init(seed: UInt64, epoch: Int) {
        state = seed &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(epoch + 1) &* 0xBF58_476D_1CE4_E5B9
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in 0..<n.
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    /// 0..<count in a random order (Fisher–Yates).
    public mutating func permutation(_ count: Int) -> [Int] {
        var order = Array(0..<count)
        for i in stride(from: count - 1, to: 0, by: -1) { order.swapAt(i, below(i + 1)) }
        return order
    }
}
