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
