import Foundation
import RANet
import XCTest

final class ModelFileTests: XCTestCase {
    func testNativeFileRoundTripKeepsParity() throws {
        let folder = try TestData.sharedItem("reference/models/tiny-c3")
        let contents = try ModelFile.read(from: folder)
        let file = try TestData.temporaryFolder().appendingPathComponent("tiny.safetensors")
        var withMetadata = contents
        withMetadata.metadata = ModelMetadata(classes: (0..<10).map { "class \($0)" }, preprocessing: .object(["input_size": .number(32)]))
        try ModelFile.write(withMetadata, to: file)
        let model = try RANetModel.load(from: file)
        XCTAssertEqual(model.config, contents.config)
        XCTAssertEqual(model.metadata, withMetadata.metadata)
        let input = try NpyFile.readFloat32(contentsOf: folder.appendingPathComponent("input.npy"))
        let expected = try NpyFile.readFloat32(contentsOf: folder.appendingPathComponent("exits.npy"))
        ParityTests.assertParity(try model.logits(for: input), expected, "safetensors round trip")
    }

    /// A file written with bf16 weights is about half the size, reads back as the weights
    /// rounded to bf16 (biases and batch norm untouched), and runs.
    func testBF16WeightsRoundTrip() throws {
        let folder = try TestData.sharedItem("reference/models/tiny-c3")
        let contents = try ModelFile.read(from: folder)
        let scratch = try TestData.temporaryFolder()
        let (f32File, bf16File) = (scratch.appendingPathComponent("f32.safetensors"), scratch.appendingPathComponent("bf16.safetensors"))
        try ModelFile.write(contents, to: f32File)
        try ModelFile.write(contents, weights: .bf16, to: bf16File)
        let size = { (url: URL) in try FileManager.default.attributesOfItem(atPath: url.path)[.size] as! Int }
        XCTAssertLessThan(Double(try size(bf16File)), 0.6 * Double(try size(f32File)))
        let read = try ModelFile.read(from: bf16File).stateDict
        let rounded = contents.stateDict.roundingWeightsToBF16()
        var weights = 0
        for (key, tensor) in contents.stateDict.tensors where tensor.int64Value == nil {
            XCTAssertEqual(read.tensors[key]?.values, rounded.tensors[key]?.values, key)
            if tensor.shape.count >= 2 {
                weights += 1
                XCTAssertNotEqual(read.tensors[key]?.values, tensor.values, "\(key) is rounded")
            } else {
                XCTAssertEqual(read.tensors[key]?.values, tensor.values, "\(key) stays f32")
            }
        }
        XCTAssertGreaterThan(weights, 10)
        let model = try RANetModel.load(from: bf16File)
        let input = try NpyFile.readFloat32(contentsOf: folder.appendingPathComponent("input.npy"))
        let expected = try NpyFile.readFloat32(contentsOf: folder.appendingPathComponent("exits.npy"))
        let logits = try model.logits(for: input)
        let scale = expected.values.map(abs).max()!
        let worst = zip(logits.values, expected.values).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(worst / scale, 5e-2)
    }

    func testCheckpointWithConfigOrBesideArgs() throws {
        let checkpoint = try TestData.sharedItem("reference/models/tiny-c3/save_models/model_best.pth.tar")
        let config = try RANetConfig.load(contentsOf: checkpoint.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("args.txt"))
        XCTAssertEqual(try ModelFile.read(from: checkpoint).config, config)
        XCTAssertEqual(try ModelFile.read(from: checkpoint, config: config).config, config)
        let copy = try TestData.temporaryFolder().appendingPathComponent("lonely.pth.tar")
        try FileManager.default.copyItem(at: checkpoint, to: copy)
        XCTAssertThrowsMessage(try ModelFile.read(from: copy), contains: "needs a config")
        XCTAssertThrowsMessage(try RANetModel.load(from: copy, config: try RANetConfig.preset(named: "cifar-c1")), contains: "weights do not fit")
    }

    func testRunFolderUsesLatestNumberedCheckpoint() throws {
        let source = try TestData.sharedItem("reference/models/tiny-c3")
        let run = try TestData.temporaryFolder()
        try FileManager.default.createDirectory(at: run.appendingPathComponent("save_models"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: source.appendingPathComponent("args.txt"), to: run.appendingPathComponent("args.txt"))
        try Data("garbage".utf8).write(to: run.appendingPathComponent("save_models/checkpoint_009.pth.tar"))
        try FileManager.default.copyItem(at: source.appendingPathComponent("save_models/model_best.pth.tar"),
                                         to: run.appendingPathComponent("save_models/checkpoint_010.pth.tar"))
        XCTAssertNoThrow(try ModelFile.read(from: run))
        try FileManager.default.removeItem(at: run.appendingPathComponent("save_models/checkpoint_010.pth.tar"))
        XCTAssertThrowsMessage(try ModelFile.read(from: run), contains: "checkpoint_009.pth.tar", "not a checkpoint")
    }

    func testRunFolderThresholdsBelongToItsModel() throws {
        let source = try TestData.sharedItem("reference/models/tiny-c3")
        let run = try TestData.temporaryFolder()
        try FileManager.default.createDirectory(at: run.appendingPathComponent("save_models"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: source.appendingPathComponent("args.txt"), to: run.appendingPathComponent("args.txt"))
        let best = run.appendingPathComponent("save_models/model_best.pth.tar")
        try FileManager.default.copyItem(at: source.appendingPathComponent("save_models/model_best.pth.tar"), to: best)
        try FileManager.default.copyItem(at: best, to: run.appendingPathComponent("save_models/checkpoint_003.pth.tar"))
        let model = try RANetModel.load(from: run)
        XCTAssertNil(model.metadata.defaultThresholds)
        let thresholds = ExitThresholds(values: [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0].prefix(model.exitCount).map { $0 }, modelFingerprint: model.fingerprint)
        try thresholds.write(to: run.appendingPathComponent(ModelFile.thresholdsFileName))
        XCTAssertEqual(try RANetModel.load(from: run).metadata.defaultThresholds, thresholds)
        XCTAssertEqual(try RANetModel.load(from: best).metadata.defaultThresholds, thresholds, "the folder's own checkpoint")
        XCTAssertNil(try RANetModel.load(from: run.appendingPathComponent("save_models/checkpoint_003.pth.tar")).metadata.defaultThresholds,
                     "another checkpoint of the folder is another model")
        try Data("{\"thresholds\": 3}".utf8).write(to: run.appendingPathComponent(ModelFile.thresholdsFileName))
        XCTAssertThrowsMessage(try RANetModel.load(from: run), contains: "thresholds.json", "'thresholds'")
    }

    func testEveryFormKeepsBatchNormCounters() throws {
        let folder = try TestData.sharedItem("reference/training/tiny-c3")
        let checkpoint = try TorchCheckpoint.readContents(contentsOf: folder.appendingPathComponent("start.pth.tar"))
        XCTAssertFalse(checkpoint.batchesTracked.isEmpty)
        let config = try RANetConfig.load(contentsOf: folder.appendingPathComponent("args.txt"))
        let contents = try ModelFile.read(from: folder.appendingPathComponent("start.pth.tar"), config: config)
        XCTAssertEqual(contents.stateDict.batchesTracked, checkpoint.batchesTracked)
        let file = try TestData.temporaryFolder().appendingPathComponent("start.safetensors")
        try ModelFile.write(contents, to: file)
        XCTAssertEqual(try ModelFile.read(from: file).stateDict.batchesTracked, checkpoint.batchesTracked)
        XCTAssertNil(try ModelFile.checkpointURL(of: file), "a .safetensors file holds no optimizer state")
    }

    func testNotAModel() throws {
        let folder = try TestData.temporaryFolder()
        XCTAssertThrowsMessage(try ModelFile.read(from: folder), contains: "not a run folder")
        let junk = folder.appendingPathComponent("junk.safetensors")
        try Data([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x7B]).write(to: junk)
        XCTAssertThrowsMessage(try ModelFile.read(from: junk), contains: "header length")
        try Data([2, 0, 0, 0, 0, 0, 0, 0, 0x7B, 0x7D]).write(to: junk)
        XCTAssertThrowsMessage(try ModelFile.read(from: junk), contains: "without a RANet config")
        var header = Data(#"{"a": {"dtype": "F32", "shape": [1000000], "data_offsets": [0, 4000000]}}"#.utf8)
        var file = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Data($0) }
        file.append(header)
        try file.write(to: junk)
        XCTAssertThrowsMessage(try ModelFile.read(from: junk), contains: "'a'", "truncated")
        header = Data(#"{"a": {"dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 0]}}"#.utf8)
        file = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Data($0) }
        file.append(header)
        try file.write(to: junk)
        XCTAssertThrowsMessage(try ModelFile.read(from: junk), contains: "'a'")
        XCTAssertThrowsMessage(try ModelFile.read(from: folder.appendingPathComponent("absent")), contains: "no such")
    }

    func testBundledModel() throws {
        let model = try RANetModel.bundled()
        XCTAssertEqual(model.exitCount, 6)
        XCTAssertEqual(model.metadata.classes?.first, "T-shirt/top")
        XCTAssertEqual(OperationCount(model.network).opsPerExit.map { ($0 / 1e4).rounded() / 100 }, [3.56, 7.70, 10.85, 12.94, 15.26, 16.63])
    }
}
