import Foundation
import RANet
import XCTest

/// The `ranet` executable as a user runs it: output, exit status, and no partial files.
final class CommandLineTests: XCTestCase, CommandLineTesting {
    func testInfoJSONForAPreset() throws {
        let run = try ranet("info", "--preset", "cifar-c1", "--json")
        XCTAssertEqual(run.status, 0, run.stderr)
        let json = try JSONValue.parse(run.stdout)
        XCTAssertEqual(json["exits"]?.intValue, 6)
        XCTAssertEqual(json["params_total"]?.intValue, 2_451_158)
        XCTAssertEqual(json["num_classes"]?.intValue, 10)
        XCTAssertEqual(json["input_size"]?.intValue, 32)
        guard case .array(let ops) = json["ops_per_exit"] else { return XCTFail("no ops_per_exit") }
        XCTAssertEqual(ops.first?.doubleValue, 13_438_730)
    }

    /// `RANET_MAX_LANES` caps the default width; a value that is no width fails naming the variable.
    func testLaneCapFromTheEnvironment() throws {
        let capped = try withArguments(["bench", "--preset", "cifar-c1", "--batch", "1", "--batches", "1", "--json"],
                                       environment: ["RANET_MAX_LANES": "4"])
        XCTAssertEqual(capped.status, 0, capped.stderr)
        XCTAssertEqual(try JSONValue.parse(capped.stdout)["lanes"]?.intValue, 4, capped.stdout)
        let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Samples/fashion-mnist-test.npy")
        let wrong = try withArguments(["logits", "--input", samples.path], environment: ["RANET_MAX_LANES": "12"])
        assertFails(wrong, mentioning: "RANET_MAX_LANES=12", "16, 8, 4 or 1")
    }

    /// `info --plan` measures into the given cache, then reads it back; the JSON names each
    /// layer's backend and times. Both cache flags at once are a usage error.
    func testInfoPlanMeasuresThenReadsTheCache() throws {
        let folder = try TestData.sharedItem("reference/models/tiny-c3")
        let cache = try TestData.temporaryFolder()
        let first = try ranet("info", "--model", folder.path, "--plan", "--plan-cache", cache.path)
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stdout.contains("plan measured"), first.stdout)
        XCTAssertTrue(first.stdout.contains("scale_flows.0.0.layers.0.conv_normal.net.0"), first.stdout)
        XCTAssertTrue(first.stderr.contains("timing the row kernels and oneDNN"), first.stderr)
        XCTAssertTrue(first.stderr.contains(cache.path), first.stderr)
        XCTAssertTrue(first.stdout.contains("layout reorders per image: "), first.stdout)
        XCTAssertTrue(first.stdout.contains("3→4 3×3/1 32×32→32×32"), first.stdout)
        let second = try ranet("info", "--model", folder.path, "--plan", "--plan-cache", cache.path, "--json")
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertFalse(second.stderr.contains("timing"), second.stderr)
        let json = try JSONValue.parse(second.stdout)
        XCTAssertEqual(json["source"]?.stringValue, "cached")
        guard case .array(let layers) = json["layers"] else { return XCTFail("no layers") }
        XCTAssertTrue(layers.allSatisfy { ["rows", "onednn"].contains($0["backend"]?.stringValue ?? "") })
        XCTAssertNotNil(layers.first?["rows_ms"]?.doubleValue)
        // tiny-c3's first layer: a 3×3 convolution of the 3×32×32 image.
        XCTAssertEqual(layers.first?["input"], .array([3, 32, 32].map { .number($0) }))
        XCTAssertEqual(layers.first?["output"], .array([4, 32, 32].map { .number($0) }))
        let reorders = layers.compactMap { $0["reorders"]?.doubleValue }
        XCTAssertEqual(reorders.count, layers.count)
        XCTAssertEqual(json["reorders"]?.doubleValue, reorders.reduce(0, +))
        let forced = try ranet("info", "--model", folder.path, "--plan", "--single-image", "rows", "--no-plan-cache")
        XCTAssertTrue(forced.stdout.contains("plan forced"), forced.stdout)
        assertFails(try ranet("info", "--model", folder.path, "--plan", "--plan-cache", cache.path, "--no-plan-cache"),
                    mentioning: "--plan-cache", "--no-plan-cache", usage: true)
        assertFails(try ranet("bench", "--preset", "cifar-c1", "--single-image", "gpu"), mentioning: "gpu", usage: true)
    }

    func testInfoTextForARunFolder() throws {
        let folder = try TestData.sharedItem("reference/models/tiny-imagenet-stem")
        let run = try ranet("info", "--model", folder.path)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("8 exits"), run.stdout)
        XCTAssertTrue(run.stdout.contains("7×7"), run.stdout)
    }

    func testLogitsWritesTheReferenceValues() throws {
        let folder = try TestData.sharedItem("reference/models/tiny-c2-lg")
        let output = try TestData.temporaryFolder().appendingPathComponent("y.npy")
        let run = try ranet("logits", "--model", folder.path, "--input", folder.appendingPathComponent("input.npy").path,
                            "--output", output.path, "--threads", "2")
        XCTAssertEqual(run.status, 0, run.stderr)
        ParityTests.assertParity(try NpyFile.readFloat32(contentsOf: output),
                                 try NpyFile.readFloat32(contentsOf: folder.appendingPathComponent("exits.npy")), "cli")
    }

    func testConvertThenUse() throws {
        let folder = try TestData.sharedItem("reference/models/tiny-c3")
        let converted = try TestData.temporaryFolder().appendingPathComponent("tiny.safetensors")
        XCTAssertEqual(try ranet("convert", "--model", folder.path, "--output", converted.path).status, 0)
        let run = try ranet("info", "--model", converted.path, "--json")
        XCTAssertEqual(try JSONValue.parse(run.stdout)["params_total"]?.intValue, 1_737_224)
        // The bundled model with bf16 weights keeps its thresholds usable (they follow the
        // rounded weights), and predicts; ONNX stays f32.
        let bf16 = converted.deletingLastPathComponent().appendingPathComponent("bundled-bf16.safetensors")
        let written = try ranet("convert", "--precision", "bf16", "--output", bf16.path)
        XCTAssertEqual(written.status, 0, written.stderr)
        XCTAssertTrue(written.stdout.contains("weights in bf16"), written.stdout)
        let predicted = try ranet("predict", "Samples/images", "--model", bf16.path, "--precision", "bf16")
        XCTAssertEqual(predicted.status, 0, predicted.stderr)
        assertFails(try ranet("convert", "--precision", "bf16", "--output", bf16.deletingPathExtension().path + ".onnx"),
                    mentioning: "ONNX graph stays f32", usage: true)
    }

    func testBadInputFailsCleanlyWithoutOutput() throws {
        let scratch = try TestData.temporaryFolder()
        let output = scratch.appendingPathComponent("y.npy")
        let wrongShape = scratch.appendingPathComponent("x.npy"), wrongType = scratch.appendingPathComponent("i.npy")
        try NpyFile.write(Tensor(zeros: [1, 3, 28, 28]), to: wrongShape)
        try NpyFile.write(int64: [1, 2], shape: [2], to: wrongType)
        assertFails(try ranet("logits", "--input", wrongShape.path, "--output", output.path), mentioning: "[1, 3, 28, 28]")
        assertFails(try ranet("logits", "--input", wrongType.path, "--output", output.path), mentioning: "int64")
        assertFails(try ranet("logits", "--input", scratch.appendingPathComponent("absent.npy").path, "--output", output.path), mentioning: "no such")
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path).sorted(), ["i.npy", "x.npy"])
    }

    func testBadModelsAndConfigs() throws {
        let scratch = try TestData.temporaryFolder()
        assertFails(try ranet("info", "--preset", "cifar-c9"), mentioning: "unknown preset 'cifar-c9'")
        assertFails(try ranet("info", "--model", scratch.appendingPathComponent("nothing").path), mentioning: "no such model")
        let notCheckpoint = scratch.appendingPathComponent("model.pth.tar")
        try Data("PK\u{3}\u{4} this is not really a zip".utf8).write(to: notCheckpoint)
        assertFails(try ranet("info", "--model", notCheckpoint.path, "--config", "cifar-c1"), mentioning: "model.pth.tar")
        let checkpoint = try TestData.sharedItem("reference/models/tiny-c3/save_models/model_best.pth.tar")
        assertFails(try ranet("info", "--model", checkpoint.path, "--config", "cifar-c1"),
                    mentioning: "FirstLayer.layers.0.net.0.weight", "[4, 3, 3, 3]", "[16, 3, 3, 3]")
        let badConfig = scratch.appendingPathComponent("args.txt")
        try "Namespace(data='cifar10', nChannels=16, growthRate=6, step=4, stepmode='even', scale_list=[1, 1, 2], grFactor=[4, 2, 1], bnFactor=[4, 2, 1], nBlocks=2, block_step=2, compress_factor=0.25, reduction=0.5)".write(to: badConfig, atomically: true, encoding: .utf8)
        assertFails(try ranet("info", "--model", checkpoint.path, "--config", badConfig.path), mentioning: "scale_list")
        let output = scratch.appendingPathComponent("out.safetensors")
        assertFails(try ranet("convert", "--model", checkpoint.path, "--config", "cifar-c1", "--output", output.path), mentioning: "weights do not fit")
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.path))
    }
}
