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
