import Foundation
@testable import RANet
import XCTest

/// `ranet train` and `ranet train-steps` as a user runs them.
final class TrainCommandTests: XCTestCase, CommandLineTesting {
    func testTrainStepsWritesTheAuthorsCheckpointAndLosses() throws {
        let folder = try TestData.sharedItem("reference/training/tiny-c3")
        let scratch = try TestData.temporaryFolder()
        let out = scratch.appendingPathComponent("after.pth.tar"), losses = scratch.appendingPathComponent("losses.npy")
        let run = try ranet("train-steps", "--model", folder.appendingPathComponent("start.pth.tar").path,
                            "--input", folder.appendingPathComponent("train_input.npy").path,
                            "--targets", folder.appendingPathComponent("train_targets.npy").path,
                            "--steps", "2", "--threads", "1", "--output", out.path, "--losses", losses.path)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("step 2: loss"), run.stdout)
        let written = try TorchCheckpoint.readContents(contentsOf: out)
        let theirs = try TorchCheckpoint.readContents(contentsOf: folder.appendingPathComponent("after_step1.pth.tar"))
        XCTAssertEqual(written.momentumBuffers.count, theirs.momentumBuffers.count)
        XCTAssertEqual(written.batchesTracked.values.first, (theirs.batchesTracked.values.first ?? 0) + 1)
        guard case .float64(let shape, let values) = try NpyFile.read(contentsOf: losses) else { return XCTFail("not float64") }
        XCTAssertEqual(shape, [2, 8])
        guard case .float64(_, let reference) = try NpyFile.read(contentsOf: folder.appendingPathComponent("step_losses.npy")) else { return XCTFail() }
        // Step 1 to the bound; step 2 as the parity tests bound it on every vector width.
        for i in 0..<16 { XCTAssertEqual(values[i], reference[i], accuracy: (i < 8 ? 1e-5 : 1e-3) * reference[i]) }
    }

    /// A run folder, a checkpoint with --config and a .safetensors file of the same start
    /// take the same steps from the same buffers (num_batches_tracked counts on from 1,000).
    func testTrainStepsStartsAlikeFromEveryFormOfModel() throws {
        let folder = try TestData.sharedItem("reference/training/tiny-c3")
        let scratch = try TestData.temporaryFolder()
        let run = scratch.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: run.appendingPathComponent("save_models"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: folder.appendingPathComponent("args.txt"), to: run.appendingPathComponent("args.txt"))
        try FileManager.default.copyItem(at: folder.appendingPathComponent("start.pth.tar"), to: run.appendingPathComponent("save_models/model_best.pth.tar"))
        let checkpoint = folder.appendingPathComponent("start.pth.tar").path
        let safetensors = scratch.appendingPathComponent("start.safetensors").path
        let convert = try ranet("convert", "--model", checkpoint, "--config", folder.appendingPathComponent("args.txt").path, "--output", safetensors)
        XCTAssertEqual(convert.status, 0, convert.stderr)
        var results: [TorchCheckpoint.Contents] = []
        for (name, model) in [("folder", [run.path]), ("checkpoint", [checkpoint, "--config", folder.appendingPathComponent("args.txt").path]),
                              ("safetensors", [safetensors])] {
            let out = scratch.appendingPathComponent("\(name).pth.tar")
            let step = try withArguments(["train-steps", "--model"] + model + [
                "--input", folder.appendingPathComponent("train_input.npy").path, "--targets", folder.appendingPathComponent("train_targets.npy").path,
                "--steps", "1", "--threads", "1", "--output", out.path])
            XCTAssertEqual(step.status, 0, "\(name): \(step.stderr)")
            results.append(try TorchCheckpoint.readContents(contentsOf: out))
        }
        let theirs = try TorchCheckpoint.readContents(contentsOf: folder.appendingPathComponent("after_step1.pth.tar"))
        for result in results {
            XCTAssertEqual(result.batchesTracked, theirs.batchesTracked)
            for (key, tensor) in theirs.stateDict.tensors where tensor.dtype == .float32 {
                XCTAssertEqual(result.stateDict.tensors[key]?.values, results[0].stateDict.tensors[key]?.values, key)
            }
        }
        XCTAssertGreaterThan(theirs.batchesTracked.values.min() ?? 0, 1)
        let noOptimizer = try withArguments(["train-steps", "--model", safetensors, "--continue-optimizer",
                                             "--input", folder.appendingPathComponent("train_input.npy").path,
                                             "--targets", folder.appendingPathComponent("train_targets.npy").path,
                                             "--output", scratch.appendingPathComponent("none.pth.tar").path])
        assertFails(noOptimizer, mentioning: "--continue-optimizer", "no optimizer state")
    }

    func testTrainStepsBadInputs() throws {
        let folder = try TestData.sharedItem("reference/training/tiny-c3")
        let scratch = try TestData.temporaryFolder()
        let targets = scratch.appendingPathComponent("t.npy")
        try NpyFile.write(int64: [1, 2, 3], shape: [3], to: targets)
        let base = ["train-steps", "--model", folder.appendingPathComponent("start.pth.tar").path,
                    "--input", folder.appendingPathComponent("train_input.npy").path, "--output", scratch.appendingPathComponent("o.pth.tar").path]
        assertFails(try withArguments(base + ["--targets", targets.path]), mentioning: "shape [16, 3, 32, 32]", "3 targets")
        try NpyFile.write(int64: [Int64](repeating: 10, count: 16), shape: [16], to: targets)
        assertFails(try withArguments(base + ["--targets", targets.path]), mentioning: "label 10 is outside")
        assertFails(try withArguments(base + ["--targets", targets.path, "--convolutions", "gpu"]), mentioning: "'gpu'", "--convolutions", usage: true)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.appendingPathComponent("o.pth.tar").path))
    }

    func testTrainWritesARunFolderThatPredictReadsAndResumes() throws {
        let config = try TestData.sharedItem("reference/training/tiny-c3/args.txt")
        let scratch = try TestData.temporaryFolder()
        let data = try TrainingTestData.cifarFile(labels: (0..<32).map { UInt8($0 % 10) }, in: scratch)
        let run = scratch.appendingPathComponent("run")
        let common = ["train", "--data", data.path, "--val", data.path, "--batch-size", "16", "--epochs", "2", "--lr-type", "cosine",
                      "--save", run.path, "--threads", "2"]
        // Stopped by a file-size limit while saving epoch 2: the first epoch's checkpoint stays.
        let first = try withArguments(["train", "--config", config.path, "--data", data.path, "--batch-size", "16", "--epochs", "1", "--save", run.path, "--threads", "2"])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stdout.contains("epoch 1/1"), first.stdout)
        let before = try Data(contentsOf: run.appendingPathComponent("save_models/checkpoint_000.pth.tar"))
        let process = Process()
        let binary = try ranetBinary
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", "trap '' XFSZ; ulimit -f 4096; exec \"$0\" \"$@\"", binary.path] + common + ["--resume"]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = Pipe()
        try process.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertNotEqual(process.terminationStatus, 0)
        XCTAssertTrue(message.contains("cannot write"), message)
        XCTAssertEqual(message.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count, 1, message)
        XCTAssertEqual(try Data(contentsOf: run.appendingPathComponent("save_models/checkpoint_000.pth.tar")), before)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: run.appendingPathComponent("save_models").path).filter { $0.hasPrefix(".") }
        XCTAssertEqual(leftovers, [], "no temporary files left")
        // Resumed without the limit, it finishes; predict reads the folder.
        let resumed = try withArguments(common + ["--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("epoch 2/2"), resumed.stdout)
        let predict = try ranet("predict", "--model", run.path, "Samples/images")
        XCTAssertEqual(predict.status, 0, predict.stderr)
    }

    /// A run with validation data leaves thresholds in its folder, and predict then exits early.
    func testTrainLeavesAnAdaptiveModel() throws {
        let config = try TestData.sharedItem("reference/training/tiny-c3/args.txt")
        let scratch = try TestData.temporaryFolder()
        let data = try TrainingTestData.cifarFile(labels: (0..<32).map { UInt8($0 % 10) }, in: scratch)
        let run = scratch.appendingPathComponent("run")
        let train = try ranet("train", "--config", config.path, "--data", data.path, "--val", data.path, "--batch-size", "16", "--epochs", "2",
                              "--budget", "0.5x", "--save", run.path, "--threads", "2")
        XCTAssertEqual(train.status, 0, train.stderr)
        XCTAssertTrue(train.stdout.contains("early exit (a budget of 0.5x of the full network)"), train.stdout)
        XCTAssertTrue(train.stdout.contains("at epoch 1:") || train.stdout.contains("at epoch 2:"), "epochs count from 1: \(train.stdout)")
        let thresholds = try ExitThresholds.read(contentsOf: run.appendingPathComponent(ModelFile.thresholdsFileName))
        XCTAssertLessThanOrEqual(thresholds.expectedOps!, thresholds.budget!)
        let model = try RANetModel.load(from: run)
        XCTAssertEqual(model.metadata.defaultThresholds, thresholds)
        let predict = try ranet("predict", "--model", run.path, "Samples/images")
        XCTAssertEqual(predict.status, 0, predict.stderr)
        let histogram = try XCTUnwrap(predict.stdout.split(separator: "\n").first { $0.hasPrefix("images leaving at each exit:") })
            .split(separator: ":")[1].split(separator: " ").compactMap { Int($0) }
        XCTAssertEqual(histogram.count, model.exitCount)
        XCTAssertGreaterThan(histogram.dropLast().reduce(0, +), 0, "some images leave before the last exit: \(predict.stdout)")
        // --budget none calibrates nothing; a budget that cannot be read is refused before training.
        let plain = try ranet("train", "--config", config.path, "--data", data.path, "--val", data.path, "--batch-size", "16", "--epochs", "1",
                              "--budget", "none", "--save", run.path, "--threads", "2")
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.appendingPathComponent(ModelFile.thresholdsFileName).path))
        assertFails(try ranet("train", "--config", config.path, "--data", data.path, "--budget", "fast", "--save", run.path),
                    mentioning: "--budget", "fast", usage: true)
    }

    func testInterruptingStopsBetweenStepsAndKeepsTheCheckpoint() throws {
        let config = try TestData.sharedItem("reference/training/tiny-c3/args.txt")
        let scratch = try TestData.temporaryFolder()
        let data = try TrainingTestData.cifarFile(labels: (0..<32).map { UInt8($0 % 10) }, in: scratch)
        let run = scratch.appendingPathComponent("run")
        let binary = try ranetBinary
        let process = Process()
        process.executableURL = binary
        process.arguments = ["train", "--config", config.path, "--data", data.path, "--batch-size", "16", "--epochs", "1000",
                             "--save", run.path, "--threads", "1"]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = Pipe()
        try process.run()
        let first = run.appendingPathComponent("save_models/latest.txt")
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: first.path) && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        kill(process.processIdentifier, SIGINT)
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 130, message)
        XCTAssertTrue(message.contains("interrupted"), message)
        let names = try FileManager.default.contentsOfDirectory(atPath: run.appendingPathComponent("save_models").path)
        XCTAssertFalse(names.contains { $0.hasPrefix(".") }, "\(names)")
        let latest = try TorchCheckpoint.readContents(contentsOf: try XCTUnwrap(names.filter { $0.hasPrefix("checkpoint_") }.sorted().last.map {
            run.appendingPathComponent("save_models").appendingPathComponent($0)
        }))
        XCTAssertNotNil(latest.epoch)
    }

    func testTrainBadInputs() throws {
        let config = try TestData.sharedItem("reference/training/tiny-c3/args.txt")
        let scratch = try TestData.temporaryFolder()
        let outside = try TrainingTestData.cifarFile(labels: [3, 200], in: scratch, name: "bad.bin")
        assertFails(try ranet("train", "--config", config.path, "--data", outside.path, "--save", scratch.appendingPathComponent("r").path),
                    mentioning: "label 200 is outside")
        let data = try TrainingTestData.cifarFile(labels: [1, 2], in: scratch)
        assertFails(try ranet("train", "--config", config.path, "--data", data.path, "--use-valid", "--save", scratch.appendingPathComponent("r").path),
                    mentioning: "holds out 5000 images")
        assertFails(try ranet("train", "--data", data.path, "--save", scratch.appendingPathComponent("r").path), mentioning: "--config", usage: true)
        assertFails(try ranet("train", "--config", config.path, "--data", data.path, "--lr-type", "linear", "--save", "r"), mentioning: "--lr-type", usage: true)
    }
}
