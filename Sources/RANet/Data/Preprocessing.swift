/// Turns raw 8-bit records into the model's input: scale to [0, 1], zero-pad, replicate
/// grey to three channels, normalize per channel (torchvision's ToTensor + Normalize).
///
/// Read from the model's metadata (the `preprocessing.json` of a run folder, or the
/// native file's copy of it); models without it get the authors' normalization for
/// their data kind and no padding.
public struct Preprocessing: Sendable, Equatable {
    /// Per-channel means subtracted after scaling to [0, 1].
    public var mean: [Float]
    /// Per-channel standard deviations divided by after that.
    public var std: [Float]
    /// Pixels of zeros (before normalization) added on each side.
    public var pad: Int
    /// Height and width of the model's input.
    public var inputSize: Int

    /// Preprocessing with these statistics, padding and input size.
    public init(mean: [Float], std: [Float], pad: Int = 0, inputSize: Int) {
        self.mean = mean
        self.std = std
        self.pad = pad
        self.inputSize = inputSize
    }

    /// The pipeline stated in `metadata`, or the data kind's default.
    public init(config: RANetConfig, metadata: ModelMetadata) {
        switch config.data {
        case .imagenet: self.init(mean: ImagePipeline.imagenet224.mean, std: ImagePipeline.imagenet224.std, inputSize: config.inputSize)
        case .cifar10, .cifar100: self.init(mean: ImagePipeline.cifar32.mean, std: ImagePipeline.cifar32.std, inputSize: config.inputSize)
        }
        guard let p = metadata.preprocessing else { return }
        if case .array(let m) = p["mean"], m.count == 3 { mean = m.compactMap(\.doubleValue).map { Float($0) } }
        if case .array(let s) = p["std"], s.count == 3 { std = s.compactMap(\.doubleValue).map { Float($0) } }
        if let each = p["pad"]?["each_side"]?.intValue { pad = each }
    }

    /// `count` records of `shape` (1 or 3 channels, uint8, C×H×W) as an N×3×S×S tensor.
    public func tensor(records: [UInt8], count: Int, shape: LabeledData.RecordShape) throws -> Tensor {
        let size = inputSize
        guard shape.height + 2 * pad == size, shape.width + 2 * pad == size else {
            throw ShapeError("records are \(shape.height)×\(shape.width) but the model takes \(size)×\(size) (its preprocessing pads \(pad) on each side)")
        }
        guard shape.channels == 1 || shape.channels == 3 else { throw ShapeError("records with \(shape.channels) channels are not supported") }
        guard records.count == count * shape.byteCount else { throw ShapeError("\(records.count) bytes for \(count) records") }
        var out = Tensor(zeros: [count, 3, size, size])
        out.values.withUnsafeMutableBufferPointer { dst in
            for i in 0..<count {
                for c in 0..<3 {
                    let plane = (i * 3 + c) * size * size
                    let background = (0 - mean[c]) / std[c]
                    for p in 0..<(size * size) { dst[plane + p] = background }
                    let sourcePlane = i * shape.byteCount + (shape.channels == 1 ? 0 : c) * shape.height * shape.width
                    for y in 0..<shape.height {
                        for x in 0..<shape.width {
                            let v = Float(records[sourcePlane + y * shape.width + x]) / 255
                            dst[plane + (y + pad) * size + x + pad] = (v - mean[c]) / std[c]
                        }
                    }
                }
            }
        }
        return out
    }
}
