import Foundation
import RANet
import XCTest

final class LabeledDataTests: XCTestCase {
    /// Writes an IDX image file and its labels file (uncompressed, as zlib reads both).
    static func writeIDX(in folder: URL, images: [[UInt8]], labels: [UInt8], size: Int = 2) throws -> URL {
        func be(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
        let imagesURL = folder.appendingPathComponent("t10k-images-idx3-ubyte")
        try Data([0, 0, 8, 3] + be(images.count) + be(size) + be(size) + images.flatMap { $0 }).write(to: imagesURL)
        try Data([0, 0, 8, 1] + be(labels.count) + labels).write(to: folder.appendingPathComponent("t10k-labels-idx1-ubyte"))
        return imagesURL
    }

    private func collect(_ data: LabeledData, batch: Int) throws -> ([UInt8], [Int], [Int]) {
        var pixels: [UInt8] = [], labels: [Int] = [], sizes: [Int] = []
        try data.forEachBatch(size: batch) { p, l in pixels += p; labels += l; sizes.append(l.count) }
        return (pixels, labels, sizes)
    }

    func testIDXWithLabelsFoundByName() throws {
        let folder = try TestData.temporaryFolder()
        let url = try Self.writeIDX(in: folder, images: (0..<5).map { [UInt8](repeating: UInt8($0), count: 4) }, labels: [3, 1, 4, 1, 5])
        let data = try LabeledData.open(url)
        XCTAssertEqual(data.count, 5)
        XCTAssertEqual(data.recordShape, LabeledData.RecordShape(channels: 1, height: 2, width: 2))
        let (pixels, labels, sizes) = try collect(data, batch: 2)
        XCTAssertEqual(labels, [3, 1, 4, 1, 5])
        XCTAssertEqual(sizes, [2, 2, 1])
        XCTAssertEqual(pixels, (0..<5).flatMap { [UInt8](repeating: UInt8($0), count: 4) })
    }

    func testIndicesSelectRecordsInAscendingOrder() throws {
        let folder = try TestData.temporaryFolder()
        let url = try Self.writeIDX(in: folder, images: (0..<6).map { [UInt8](repeating: UInt8($0), count: 4) }, labels: [0, 1, 2, 3, 4, 5])
        let indices = folder.appendingPathComponent("i.npy")
        try NpyFile.write(int64: [4, 1, 5], shape: [3], to: indices)
        let data = try LabeledData.open(url, indices: indices)
        XCTAssertEqual(try collect(data, batch: 2).1, [1, 4, 5])
        try NpyFile.write(int64: [9], shape: [1], to: indices)
        XCTAssertThrowsMessage(try LabeledData.open(url, indices: indices), contains: "index 9", "6 records")
        try NpyFile.write(int64: [], shape: [0], to: indices)
        XCTAssertThrowsMessage(try LabeledData.open(url, indices: indices), contains: "empty")
    }

    func testBrokenIDX() throws {
        let folder = try TestData.temporaryFolder()
        let url = try Self.writeIDX(in: folder, images: (0..<3).map { _ in [1, 2, 3, 4] }, labels: [0, 1])
        XCTAssertThrowsMessage(try LabeledData.open(url), contains: "2 labels for 3 images")
        let lonely = folder.appendingPathComponent("images.idx")
        try Data(try Data(contentsOf: url)).write(to: lonely)
        XCTAssertThrowsMessage(try LabeledData.open(lonely), contains: "no labels file", "--labels")
        let truncated = try Self.writeIDX(in: try TestData.temporaryFolder(), images: (0..<3).map { _ in [1, 2, 3, 4] }, labels: [0, 1, 2])
        let bytes = try Data(contentsOf: truncated)
        try bytes.prefix(bytes.count - 3).write(to: truncated)
        XCTAssertThrowsMessage(try collect(try LabeledData.open(truncated), batch: 8), contains: "truncated")
        XCTAssertThrowsMessage(try LabeledData.open(folder.appendingPathComponent("absent")), contains: "no such")
    }

    func testCIFARBinary() throws {
        let folder = try TestData.temporaryFolder()
        let url = folder.appendingPathComponent("test_batch.bin")
        var bytes: [UInt8] = []
        for r in 0..<3 { bytes += [UInt8(r + 7)] + [UInt8](repeating: UInt8(r), count: 3072) }
        try Data(bytes).write(to: url)
        let data = try LabeledData.open(url)
        XCTAssertEqual(data.recordShape, LabeledData.RecordShape(channels: 3, height: 32, width: 32))
        let (pixels, labels, _) = try collect(data, batch: 2)
        XCTAssertEqual(labels, [7, 8, 9])
        XCTAssertEqual(pixels.count, 3 * 3072)
        try Data(bytes.dropLast()).write(to: url)
        XCTAssertThrowsMessage(try LabeledData.open(url), contains: "not a data set")
    }

    func testPreprocessingPadsNormalizesAndReplicates() throws {
        let p = Preprocessing(mean: [0.5, 0.5, 0.5], std: [0.25, 0.5, 1], pad: 1, inputSize: 4)
        let t = try p.tensor(records: [255, 0, 0, 255], count: 1, shape: .init(channels: 1, height: 2, width: 2))
        XCTAssertEqual(t.shape, [1, 3, 4, 4])
        XCTAssertEqual(t.values[0], -2)        // padding: (0 - 0.5) / 0.25
        XCTAssertEqual(t.values[5], 2)         // pixel 255 at (1, 1): (1 - 0.5) / 0.25
        XCTAssertEqual(t.values[16 + 5], 1)    // channel 1: (1 - 0.5) / 0.5
        XCTAssertThrowsMessage(try p.tensor(records: [UInt8](repeating: 0, count: 9), count: 1, shape: .init(channels: 1, height: 3, width: 3)),
                               contains: "3×3", "4×4")
    }

    /// The bundled model on its validation split gives the authors' per-exit accuracies.
    func testFashionMNISTValidationAccuracies() throws {
        let images = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")
        guard FileManager.default.fileExists(atPath: images.path) else {
            throw XCTSkip("Debian's dataset-fashion-mnist is not installed (make test installs it)")
        }
        let indices = try TestData.sharedItem("models/fashion-mnist/val_indices.npy")
        let evaluation = try AnytimeEvaluation(model: try RANetModel.bundled(), data: try LabeledData.open(images, indices: indices))
        XCTAssertEqual(evaluation.exits.map { ($0.top1 * 100).rounded() / 100 }, [90.84, 91.38, 92.14, 92.04, 92.64, 92.92])
    }
}

extension LabeledDataTests {
    /// An ImageFolder tree of the sample PNGs (folders "0"…"9" by true class) evaluates
    /// exactly like the same images read as IDX-style tensors would.
    func testImageFolderTree() throws {
        let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Samples")
        let labels: [Int] = { guard case .int64(_, let v) = try! NpyFile.read(contentsOf: samples.appendingPathComponent("fashion-mnist-test-labels.npy")) else { return [] }; return v.map { Int($0) } }()
        let root = try TestData.temporaryFolder()
        for c in 0..<10 { try FileManager.default.createDirectory(at: root.appendingPathComponent(String(c)), withIntermediateDirectories: true) }
        let files = ImageFinder.files(under: [samples.appendingPathComponent("images")], recursive: false).files
        for (file, label) in zip(files, labels) {
            let folder = root.appendingPathComponent(String(label)).appendingPathComponent("nested")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: file, to: folder.appendingPathComponent(file.lastPathComponent))
        }
        try Data("not part of the data set".utf8).write(to: root.appendingPathComponent("1/notes.txt"))
        let model = try RANetModel.bundled()
        let data = try LabeledData.open(root)
        XCTAssertEqual(data.count, 16)
        let evaluation = try AnytimeEvaluation(model: model, data: data, batch: 5)
        // Folders "0"…"9" in name order are the classes 0…9; files come class by class.
        XCTAssertEqual(evaluation.labels, labels.sorted())
        let logits = try model.logits(for: NpyFile.readFloat32(contentsOf: samples.appendingPathComponent("fashion-mnist-test.npy")))
        let last = try ExitConfidences(logits: logits).prediction[5]
        let correct = zip(last, labels).filter { $0 == $1 }.count
        XCTAssertEqual(evaluation.exits[5].top1, Double(correct) * 100 / 16, accuracy: 1e-9)
        XCTAssertThrowsMessage(try LabeledData.open(try TestData.temporaryFolder()), contains: "one folder per class")
    }
}
