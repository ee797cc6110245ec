import Foundation

/// A labeled data set ready for training: raw records (IDX, CIFAR binary) held in memory,
/// or an image folder's files decoded batch by batch, turned into normalized inputs as the
/// model's preprocessing says, with the authors' augmentation on request.
public final class TrainingData: @unchecked Sendable {
    private enum Samples {
        case records([UInt8], LabeledData.RecordShape)
        case files([URL], ImagePipeline, ImageDecoding)
    }

    private let samples: Samples
    /// Each sample's class index.
    public let labels: [Int]
    private let preprocessing: Preprocessing
    /// Which of the underlying samples this set uses.
    private let selection: [Int]
    /// Height and width of the inputs.
    public let inputSize: Int

    /// Samples in the set.
    public var count: Int { selection.count }

    /// Reads `data` for a model of `config`, whose inputs are prepared as `metadata`'s
    /// preprocessing says (the data kind's default otherwise). Throws for an empty set,
    /// labels outside the config's classes, and records whose size the preprocessing
    /// does not turn into the config's input size.
    public init(_ data: LabeledData, config: RANetConfig, metadata: ModelMetadata) throws {
        preprocessing = Preprocessing(config: config, metadata: metadata)
        inputSize = config.inputSize
        var labels: [Int] = []
        if case .folder(let files) = data.source.format {
            let pipeline = ImagePipeline(config: config, metadata: metadata)
            guard pipeline.outputSize == config.inputSize else {
                throw ShapeError("the image pipeline makes \(pipeline.outputSize)×\(pipeline.outputSize) inputs but the config takes \(config.inputSize)×\(config.inputSize)")
            }
            let chosen = data.selection ?? Array(files.indices)
            samples = .files(chosen.map { files[$0].url }, pipeline, data.decoding)
            labels = chosen.map { files[$0].label }
        } else {
            let shape = data.recordShape
            guard shape.height + 2 * preprocessing.pad == inputSize, shape.width + 2 * preprocessing.pad == inputSize else {
                throw ShapeError("images are \(shape.height)×\(shape.width) but the config takes \(inputSize)×\(inputSize) (the preprocessing pads \(preprocessing.pad) on each side)")
            }
            var records: [UInt8] = []
            records.reserveCapacity(data.count * shape.byteCount)
            try data.forEachBatch(size: 4096) { bytes, batchLabels in
                records += bytes
                labels += batchLabels
            }
            samples = .records(records, shape)
        }
        guard !labels.isEmpty else { throw ShapeError("the data set is empty") }
        if let bad = labels.first(where: { !(0..<config.numClasses).contains($0) }) {
            throw ShapeError("label \(bad) is outside the config's \(config.numClasses) classes")
        }
        self.labels = labels
        selection = Array(labels.indices)
    }

    private init(_ base: TrainingData, selection: [Int]) {
        samples = base.samples
        labels = base.labels
        preprocessing = base.preprocessing
        inputSize = base.inputSize
        self.selection = selection
    }

    /// The samples at `positions` (indices into this set), e.g. a validation split.
    public func subset(_ positions: [Int]) throws -> TrainingData {
        if let bad = positions.first(where: { !selection.indices.contains($0) }) {
            throw ShapeError("sample \(bad) is outside the \(count) samples of the data set")
        }
        guard !positions.isEmpty else { throw ShapeError("the data set is empty") }
        return TrainingData(self, selection: positions.map { selection[$0] })
    }

    /// The class index of sample `position`.
    public func label(_ position: Int) -> Int { labels[selection[position]] }

    /// The inputs (count × 3 × size × size) and labels of the samples at `positions`,
    /// augmented with draws from `random` when `augmentation` is given.
    public func batch(_ positions: ArraySlice<Int>, augmentation: Augmentation?, random: inout TrainingRandom) throws -> ([Float], [Int]) {
        let chosen = positions.map { selection[$0] }
        var values: [Float]
        switch samples {
        case .records(let records, let shape):
            var bytes: [UInt8] = []
            bytes.reserveCapacity(chosen.count * shape.byteCount)
            for r in chosen { bytes += records[(r * shape.byteCount)..<((r + 1) * shape.byteCount)] }
            values = try preprocessing.tensor(records: bytes, count: chosen.count, shape: shape).values
        case .files(let urls, let pipeline, let decoding):
            values = []
            for r in chosen { values += pipeline.tensorValues(for: try pipeline.decode(contentsOf: urls[r], decoding)) }
        }
        if let augmentation {
            let size = inputSize, floats = 3 * size * size
            let background = (0..<3).map { (0 - preprocessing.mean[$0]) / preprocessing.std[$0] }
            var scratch: [Float] = []
            values.withUnsafeMutableBufferPointer { all in
                for i in 0..<chosen.count {
                    let image = UnsafeMutableBufferPointer(rebasing: all[(i * floats)..<((i + 1) * floats)])
                    augmentation.apply(image, size: size, background: background, random: &random, scratch: &scratch)
                }
            }
        }
        return (values, chosen.map { labels[$0] })
    }
}
