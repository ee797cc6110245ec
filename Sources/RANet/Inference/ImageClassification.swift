import Foundation

extension RANetModel {
    /// Thresholds used when none are given: the model's own (calibrated when it was
    /// packaged), or else none that stop early, so every image reaches the last exit.
    public var defaultThresholds: ExitThresholds {
        metadata.defaultThresholds
            ?? ExitThresholds(values: [Float](repeating: BudgetedClassification.unreachable, count: exitCount - 1) + [BudgetedClassification.always])
    }

    /// How photos become this model's inputs (from its metadata, or its data kind's preset).
    public var imagePipeline: ImagePipeline { ImagePipeline(config: config, metadata: metadata) }

    /// The image pipeline, refused when it does not make inputs of the model's size.
    func checkedImagePipeline() throws -> ImagePipeline {
        let pipeline = imagePipeline
        guard pipeline.outputSize == config.inputSize else {
            throw ShapeError("the image pipeline makes \(pipeline.outputSize)×\(pipeline.outputSize) inputs but the model takes \(config.inputSize)×\(config.inputSize)")
        }
        return pipeline
    }

    /// Classifies decoded images with early exit (the model's default thresholds unless given).
    public func classify(_ images: [DecodedImage], thresholds: ExitThresholds? = nil, top: Int = 1) throws -> [Prediction] {
        let pipeline = try checkedImagePipeline()
        let values = images.flatMap { pipeline.tensorValues(for: $0) }
        let batch = try Tensor(shape: [images.count] + imageShape, values: values)
        return try classify(batch, thresholds: thresholds ?? defaultThresholds, top: top)
    }

    /// Classifies one image file (any format ``DecodedImage`` reads, recognized by content).
    public func classify(imageAt url: URL, thresholds: ExitThresholds? = nil, top: Int = 1) throws -> Prediction {
        try classify([DecodedImage(contentsOf: url)], thresholds: thresholds, top: top)[0]
    }

    /// Classifies encoded image bytes (any format ``DecodedImage`` reads).
    public func classify(encoded data: Data, thresholds: ExitThresholds? = nil, top: Int = 1) throws -> Prediction {
        try classify([DecodedImage(encoded: data)], thresholds: thresholds, top: top)[0]
    }

    /// Classifies one image file without blocking the caller's executor.
    public func classify(imageAt url: URL, thresholds: ExitThresholds? = nil, top: Int = 1) async throws -> Prediction {
        try await Task.detached { try self.classify(imageAt: url, thresholds: thresholds, top: top) }.value
    }

    /// Classifies decoded images without blocking the caller's executor.
    public func classify(_ images: [DecodedImage], thresholds: ExitThresholds? = nil, top: Int = 1) async throws -> [Prediction] {
        try await Task.detached { try self.classify(images, thresholds: thresholds, top: top) }.value
    }
}
