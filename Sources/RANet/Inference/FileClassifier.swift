import Dispatch
import Foundation

/// Classifies many image files with bounded memory: files go through in batches, and
/// the next batch is decoded and preprocessed on other threads while the network runs
/// on the current one.
public struct FileClassifier {
    /// What happened to one file.
    public enum Outcome: Sendable {
        /// The file was decoded and classified.
        case classified(Prediction)
        /// An image file (by content or by name) that could not be classified, and why.
        case skipped(reason: String)
        /// Neither its content nor its name says image (a README beside the photos, say).
        case notAnImage
    }

    /// One file's outcome.
    public struct Result: Sendable {
        /// The file.
        public let url: URL
        /// What became of it.
        public let outcome: Outcome
        /// A small copy of the decoded image (longer side ``FileClassifier/thumbnailSide``),
        /// when the classifier makes them and the file was decoded.
        public let thumbnail: DecodedImage?
        /// With ``FileClassifier/everyExit``: each exit's five most probable classes.
        public let exitScores: [[ClassScore]]?

        /// The prediction, when the file was classified.
        public var prediction: Prediction? {
            if case .classified(let p) = outcome { return p }
            return nil
        }

        /// Why the file was skipped, when it was.
        public var skipReason: String? {
            if case .skipped(let reason) = outcome { return reason }
            return nil
        }
    }

    /// File name extensions that make a file count as an image even when its content is
    /// not one: torchvision's `ImageFolder` list, JPEG's other spellings, PBM/PNM, HEIF, AVIF.
    static let imageExtensions: Set<String> = ["jpg", "jpeg", "jpe", "jfif", "png", "ppm", "pgm", "pbm", "pnm", "bmp", "tif",
                                               "tiff", "webp", "heic", "heif", "avif"]

    /// The model that classifies the files.
    public let model: RANetModel
    /// Early-exit thresholds (the model's default unless given).
    public var thresholds: ExitThresholds
    /// Classes reported per image, most probable first.
    public var top: Int
    /// Images decoded and run together.
    public var batch: Int
    /// How files are decoded (PIL's results by default).
    public var decoding: ImageDecoding
    /// The longer side of the thumbnail each result carries, made from the decoded image;
    /// 0 (the default) makes none.
    public var thumbnailSide: Int
    /// Whether to compute every exit, for what each exit would have said
    /// (``Result/exitScores``): an evaluation mode, since early exit then saves nothing.
    /// Each image's exit is decided from those logits as early exit decides it, so the
    /// predictions are the same bits with the default ``RANetModel/SingleImageKernels/rows``.
    public var everyExit = false

    /// A classifier of files with this model and these settings.
    public init(model: RANetModel, thresholds: ExitThresholds? = nil, top: Int = 1, batch: Int = 64,
                decoding: ImageDecoding = ImageDecoding(), thumbnailSide: Int = 0) {
        self.model = model
        self.thresholds = thresholds ?? model.defaultThresholds
        self.top = top
        self.batch = max(1, batch)
        self.decoding = decoding
        self.thumbnailSide = max(0, thumbnailSide)
    }

    /// Classifies `files`, calling `onResult` in file order (on the calling thread).
    public func run(_ files: [URL], onResult: (Result) throws -> Void) throws {
        try thresholds.check(for: model)
        let pipeline = try model.checkedImagePipeline()
        let chunks = stride(from: 0, to: files.count, by: batch).map { Array(files[$0..<min($0 + batch, files.count)]) }
        guard !chunks.isEmpty else { return }
        var pending = decodeInBackground(chunks[0], pipeline)
        for (k, chunk) in chunks.enumerated() {
            let decoded = pending.wait()
            if k + 1 < chunks.count { pending = decodeInBackground(chunks[k + 1], pipeline) }
            let good = decoded.compactMap { $0.values }
            var predictions: [Prediction] = [], scores: [[[ClassScore]]] = []
            if !good.isEmpty {
                let images = try Tensor(shape: [good.count] + model.imageShape, values: good.flatMap { $0 })
                if everyExit {
                    (predictions, scores) = decide(everyExitLogits: try model.logits(for: images))
                } else {
                    predictions = try model.classify(images, thresholds: thresholds, top: top)
                }
            }
            var next = predictions.makeIterator(), nextScores = scores.makeIterator()
            for (url, item) in zip(chunk, decoded) {
                if item.values != nil {
                    try onResult(Result(url: url, outcome: .classified(next.next()!), thumbnail: item.thumbnail, exitScores: nextScores.next()))
                } else if let reason = item.reason {
                    try onResult(Result(url: url, outcome: .skipped(reason: reason), thumbnail: nil, exitScores: nil))
                } else {
                    try onResult(Result(url: url, outcome: .notAnImage, thumbnail: nil, exitScores: nil))
                }
            }
        }
    }

    /// From every exit's logits (exits × N × classes): each image's prediction, decided
    /// exit by exit with the same function early exit uses (`RANetModel.prediction`),
    /// and each exit's five most probable classes.
    private func decide(everyExitLogits logits: Tensor) -> ([Prediction], [[[ClassScore]]]) {
        let (exits, count, classes) = (logits.shape[0], logits.shape[1], logits.shape[2])
        var predictions: [Prediction] = [], scores: [[[ClassScore]]] = []
        logits.values.withUnsafeBufferPointer { values in
            for i in 0..<count {
                let rows = (0..<exits).map { k in values.baseAddress! + (k * count + i) * classes }
                scores.append(rows.map { RANetModel.ranked($0, count: classes, top: 5) })
                predictions.append((0..<exits).lazy.compactMap { k in
                    self.model.prediction(Array(UnsafeBufferPointer(start: rows[k], count: classes)), exit: k, thresholds: self.thresholds,
                                          top: self.top)
                }.first!)
            }
        }
        return (predictions, scores)
    }

    private struct Decoded {
        var values: [Float]?
        var reason: String?
        var thumbnail: DecodedImage?
    }

    /// A batch being decoded on other threads.
    private final class PendingBatch: @unchecked Sendable {
        private let done = DispatchSemaphore(value: 0)
        var items: [Decoded] = []
        func finish() { done.signal() }
        func wait() -> [Decoded] {
            done.wait()
            return items
        }
    }

    private func decodeInBackground(_ urls: [URL], _ pipeline: ImagePipeline) -> PendingBatch {
        let pending = PendingBatch()
        let (decoding, thumbnailSide) = (self.decoding, self.thumbnailSide)
        DispatchQueue.global().async {
            var items = [Decoded](repeating: Decoded(), count: urls.count)
            items.withUnsafeMutableBufferPointer { slots in
                nonisolated(unsafe) let base = slots.baseAddress!
                DispatchQueue.concurrentPerform(iterations: urls.count) { i in
                    do {
                        let data = try readFile(urls[i], what: "image")
                        if !DecodedImage.isImage(data.prefix(16)) && !Self.imageExtensions.contains(urls[i].pathExtension.lowercased()) {
                            return  // not an image by content or by name: neither values nor a reason
                        }
                        let image = try pipeline.decode(data, decoding)
                        base[i] = Decoded(values: pipeline.tensorValues(for: image), reason: nil,
                                          thumbnail: thumbnailSide > 0 ? image.thumbnail(longerSide: thumbnailSide) : nil)
                    } catch let error as FileError {
                        base[i] = Decoded(values: nil, reason: error.message)
                    } catch {
                        base[i] = Decoded(values: nil, reason: "\(error)")
                    }
                }
            }
            pending.items = items
            pending.finish()
        }
        return pending
    }
}
