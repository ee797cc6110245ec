import Foundation

/// A labeled data set, read in order, a batch at a time, so that memory stays bounded
/// whatever its size.
///
/// Formats (see ``open(_:labels:indices:decoding:)``):
/// - an image-folder tree, as torchvision's ImageFolder: one folder per class (classes in
///   name order), image files inside (torchvision's extensions, and HEIC/AVIF), at any depth;
/// - IDX, as MNIST and Fashion-MNIST ship (`*-images-idx3-ubyte[.gz]` with the labels in
///   `*-labels-idx1-ubyte[.gz]`, found by that naming or given);
/// - CIFAR-10/100 binary batches (`data_batch_N.bin`, `test_batch.bin`, `train.bin`, `test.bin`).
public final class LabeledData {
    /// The layout of one stored image.
    public struct RecordShape: Sendable, Equatable {
        /// Channels: 1 (grey) or 3 (RGB).
        public let channels: Int
        /// Height in pixels.
        public let height: Int
        /// Width in pixels.
        public let width: Int
        /// Bytes of one record: one byte per channel and pixel.
        public var byteCount: Int { channels * height * width }

        /// A record of this many channels, rows and columns.
        public init(channels: Int, height: Int, width: Int) {
            self.channels = channels
            self.height = height
            self.width = width
        }
    }

    /// Number of samples (after `indices`).
    public let count: Int
    /// The layout of every stored image.
    public let recordShape: RecordShape
    let source: RecordSource
    /// How an image-folder tree's files are decoded (PIL's results by default).
    public let decoding: ImageDecoding
    /// An image folder's class names (its sub-folders' names), in label order; nil for records.
    public var classNames: [String]? { source.classNames }
    /// Record numbers to read, ascending; nil for all.
    let selection: [Int]?

    init(source: RecordSource, selection: [Int]?, decoding: ImageDecoding) {
        self.source = source
        self.selection = selection
        self.decoding = decoding
        count = selection?.count ?? source.count
        recordShape = source.shape
    }

    /// Opens a data set. `labels` names the IDX labels file when it is not found by name;
    /// `indices` (an int64 .npy) selects records, which are then read in ascending order;
    /// `decoding` says how an image folder's files are decoded.
    public static func open(_ url: URL, labels: URL? = nil, indices: URL? = nil, decoding: ImageDecoding = ImageDecoding()) throws -> LabeledData {
        let source = try RecordSource.open(url, labels: labels)
        var selection: [Int]?
        if let indices {
            guard case .int64(let shape, let values) = try NpyFile.read(contentsOf: indices), shape.count == 1 else {
                throw FileError(path: indices.path, message: "indices must be a 1-D int64 array")
            }
            if let bad = values.first(where: { $0 < 0 || $0 >= Int64(source.count) }) {
                throw FileError(path: indices.path, message: "index \(bad) is outside the \(source.count) records of \(url.lastPathComponent)")
            }
            selection = Array(Set(values.map { Int($0) })).sorted()
        }
        let data = LabeledData(source: source, selection: selection, decoding: decoding)
        guard data.count > 0 else { throw FileError(path: url.path, message: "the data set is empty") }
        return data
    }

    /// Calls `body` with consecutive batches of `model`'s inputs (N×3×S×S) and their labels,
    /// for the first `limit` samples (all by default): raw records go through the model's
    /// ``Preprocessing``, image files through its ``ImagePipeline`` (decoded as ``decoding`` says).
    public func forEachInputBatch(for model: RANetModel, size: Int, limit: Int = .max, _ body: (Tensor, [Int]) throws -> Void) throws {
        if case .folder(let files) = source.format {
            let pipeline = try model.checkedImagePipeline()
            let chosen = (selection ?? Array(0..<files.count)).prefix(limit)
            for start in stride(from: 0, to: chosen.count, by: size) {
                let batch = chosen[(chosen.startIndex + start)..<min(chosen.startIndex + start + size, chosen.endIndex)]
                var values: [Float] = []
                for r in batch { values += pipeline.tensorValues(for: try pipeline.decode(contentsOf: files[r].url, decoding)) }
                try body(Tensor(shape: [batch.count] + model.imageShape, values: values), batch.map { files[$0].label })
            }
            return
        }
        let preprocessing = Preprocessing(config: model.config, metadata: model.metadata)
        try forEachBatch(size: size, limit: limit) { records, labels in
            try body(try preprocessing.tensor(records: records, count: labels.count, shape: recordShape), labels)
        }
    }

    /// Calls `body` with consecutive batches of raw records (N × record bytes) and their
    /// labels, for the first `limit` samples (all by default). Not for image folders.
    public func forEachBatch(size: Int, limit: Int = .max, _ body: ([UInt8], [Int]) throws -> Void) throws {
        let reader = try source.makeReader()
        var position = 0
        var pending = selection.map { $0[...] }
        let end = min(count, limit)
        while position < end {
            let n = min(size, end - position)
            var pixels: [UInt8] = []
            pixels.reserveCapacity(n * recordShape.byteCount)
            var labels: [Int] = []
            for _ in 0..<n {
                let record = pending == nil ? reader.cursor : pending!.removeFirst()
                let (image, label) = try reader.record(record)
                pixels += image
                labels.append(label)
            }
            try body(pixels, labels)
            position += n
        }
    }
}

/// Where records come from, and how to read record number r.
struct RecordSource {
    enum Format { case idx(images: URL, labels: URL), cifar(URL, labelBytes: Int), folder([(url: URL, label: Int)]) }
    let format: Format
    let count: Int
    let shape: LabeledData.RecordShape
    /// An image folder's class names (its sub-folders), in label order.
    var classNames: [String]? = nil

    static func open(_ url: URL, labels: URL?) throws -> RecordSource {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            return try imageFolder(url)
        }
        let reader = try GzipReader(url: url)
        let magic = try reader.read(4)
        if magic[0] == 0, magic[1] == 0, magic[2] == 0x08, magic[3] == 3 {
            let dims = try reader.read(12)
            func be(_ i: Int) -> Int { Int(dims[i]) << 24 | Int(dims[i + 1]) << 16 | Int(dims[i + 2]) << 8 | Int(dims[i + 3]) }
            let (n, h, w) = (be(0), be(4), be(8))
            guard h > 0, w > 0, h <= 4096, w <= 4096 else { throw FileError(path: url.path, message: "IDX images of \(h)×\(w) are not supported") }
            let labelsURL = try labels ?? Self.idxLabels(for: url)
            let labelReader = try GzipReader(url: labelsURL)
            let header = try labelReader.read(8)
            guard header[0] == 0, header[1] == 0, header[2] == 0x08, header[3] == 1 else {
                throw FileError(path: labelsURL.path, message: "not an IDX labels file")
            }
            let labelCount = Int(header[4]) << 24 | Int(header[5]) << 16 | Int(header[6]) << 8 | Int(header[7])
            guard labelCount == n else {
                throw FileError(path: labelsURL.path, message: "\(labelCount) labels for \(n) images")
            }
            return RecordSource(format: .idx(images: url, labels: labelsURL), count: n, shape: .init(channels: 1, height: h, width: w))
        }
        // CIFAR binary: records of label byte(s) + 3072 pixel bytes, nothing else.
        let size = try Self.fileSize(url)
        let name = url.lastPathComponent.lowercased()
        let labelBytes = name.hasPrefix("train.bin") || name.hasPrefix("test.bin") ? 2 : 1  // CIFAR-100: coarse, fine
        let record = labelBytes + 3072
        guard name.hasSuffix(".bin"), size > 0, size % record == 0 else {
            throw FileError(path: url.path, message: "not a data set this tool reads (IDX images, or CIFAR binary batches named *.bin)")
        }
        return RecordSource(format: .cifar(url, labelBytes: labelBytes), count: size / record, shape: .init(channels: 3, height: 32, width: 32))
    }

    /// torchvision's ImageFolder: class folders in name order, their image files (by extension) by path.
    private static func imageFolder(_ root: URL) throws -> RecordSource {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        let classes = names.filter { name in
            var isDirectory: ObjCBool = false
            return !name.hasPrefix(".") && FileManager.default.fileExists(atPath: root.appendingPathComponent(name).path, isDirectory: &isDirectory) && isDirectory.boolValue
        }.sorted()
        guard !classes.isEmpty else {
            throw FileError(path: root.path, message: "an image-folder data set needs one folder per class")
        }
        var files: [(url: URL, label: Int)] = []
        for (label, name) in classes.enumerated() {
            let found = ImageFinder.files(under: [root.appendingPathComponent(name)], recursive: true).files
            files += found.filter { FileClassifier.imageExtensions.contains($0.pathExtension.lowercased()) }.map { ($0, label) }
        }
        return RecordSource(format: .folder(files), count: files.count, shape: .init(channels: 3, height: 0, width: 0), classNames: classes)
    }

    private static func fileSize(_ url: URL) throws -> Int {
        let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
        return (attributes?[.size] as? NSNumber)?.intValue ?? 0
    }

    /// `train-images-idx3-ubyte.gz` → `train-labels-idx1-ubyte.gz` (also `t10k-…`).
    private static func idxLabels(for images: URL) throws -> URL {
        let name = images.lastPathComponent
        let candidate = images.deletingLastPathComponent().appendingPathComponent(
            name.replacingOccurrences(of: "images-idx3", with: "labels-idx1").replacingOccurrences(of: "images.idx3", with: "labels.idx1"))
        guard candidate.lastPathComponent != name, FileManager.default.fileExists(atPath: candidate.path) else {
            throw FileError(path: images.path, message: "no labels file found beside it; give one with --labels")
        }
        return candidate
    }

    func makeReader() throws -> RecordReader {
        if case .folder = format { throw ShapeError("an image folder has no raw records; read it with forEachInputBatch") }
        return try RecordReader(self)
    }
}

/// Reads records in ascending order, skipping what is not asked for.
final class RecordReader {
    let source: RecordSource
    private let images: GzipReader
    private let labels: GzipReader?
    /// The next record number in the stream.
    private(set) var cursor = 0

    init(_ source: RecordSource) throws {
        self.source = source
        switch source.format {
        case .idx(let imagesURL, let labelsURL):
            images = try GzipReader(url: imagesURL)
            try images.skip(16)
            labels = try GzipReader(url: labelsURL)
            try labels!.skip(8)
        case .cifar(let url, _):
            images = try GzipReader(url: url)
            labels = nil
        case .folder:
            preconditionFailure("image folders are read by forEachInputBatch")
        }
    }

    func record(_ r: Int) throws -> ([UInt8], Int) {
        let bytes = source.shape.byteCount
        switch source.format {
        case .idx:
            try images.skip((r - cursor) * bytes)
            try labels!.skip(r - cursor)
            cursor = r + 1
            let image = try images.read(bytes)
            return (image, Int(try labels!.read(1)[0]))
        case .cifar(_, let labelBytes):
            try images.skip((r - cursor) * (bytes + labelBytes))
            cursor = r + 1
            let record = try images.read(labelBytes + bytes)
            return (Array(record[labelBytes...]), Int(record[labelBytes - 1]))
        case .folder:
            preconditionFailure("image folders are read by forEachInputBatch")
        }
    }
}
