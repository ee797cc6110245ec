import Foundation
@testable import RANet
import XCTest

/// `Trainer`: the run folder it writes, resuming, and the inputs it refuses.
final class TrainerTests: XCTestCase {
    private func options(epochs: Int) -> TrainingOptions {
        TrainingOptions(epochs: epochs, batchSize: 16, learningRate: 0.05, schedule: .cosine, seed: 7, threads: 2)
    }

    func testRunFolderIsTheAuthorsLayoutAndAModel() throws {
        let config = try TrainingTestData.tinyConfig()
        let scratch = try TestData.temporaryFolder()
        let data = try TrainingTestData.trainingData(count: 40, in: scratch, config: config)
        let run = scratch.appendingPathComponent("run")
        let trainer = try Trainer(config: config, training: data, validation: data, options: options(epochs: 2), runFolder: run)
        let reports = ReportLog()
        let summary = try runBlocking { try await trainer.run { reports.append($0) } }
        let models = run.appendingPathComponent("save_models")
        for name in ["args.txt", "preprocessing.json", "scores.tsv", "save_models/checkpoint_001.pth.tar",
                     "save_models/model_best.pth.tar", "save_models/latest.txt"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent(name).path), name)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: models.appendingPathComponent("checkpoint_000.pth.tar").path),
                       "the previous epoch's checkpoint is removed, as the authors' main.py does")
        XCTAssertEqual(try RANetConfig.load(contentsOf: run.appendingPathComponent("args.txt")), config)
        let scores = try String(contentsOf: run.appendingPathComponent("scores.tsv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(scores.count, 3)
        XCTAssertEqual(reports.items.filter(\.isEpochEnd).count, 2)
        XCTAssertEqual(reports.items.filter { !$0.isEpochEnd }.count, 2 * trainer.batchesPerEpoch)
        XCTAssertEqual(summary.validationTop1?.count, config.exitCount)
        // The folder is a model: the latest checkpoint's weights, as trained.
        let checkpoint = try TorchCheckpoint.readContents(contentsOf: models.appendingPathComponent("checkpoint_001.pth.tar"))
        XCTAssertEqual(checkpoint.epoch, 1)
        XCTAssertEqual(checkpoint.momentumBuffers.count, TrainingState.registrationOrder(try NetworkDescription(config: config).parameters).filter(\.isTrainable).count)
        for (key, tensor) in summary.stateDict.tensors { XCTAssertTrue(checkpoint.stateDict.tensors[key]?.values == tensor.values, key) }
        let model = try RANetModel.load(from: run)
        XCTAssertEqual(model.metadata.classes?.count, 10)
    }

    func testResumingReachesTheUninterruptedWeights() throws {
        let config = try TrainingTestData.tinyConfig()
        let scratch = try TestData.temporaryFolder()
        let data = try TrainingTestData.trainingData(count: 32, in: scratch, config: config)
        let whole = try Trainer(config: config, training: data, options: options(epochs: 2), runFolder: scratch.appendingPathComponent("a"))
        let uninterrupted = try runBlocking { try await whole.run() }
        // The same run, cancelled as soon as its first epoch is saved, then resumed.
        let folder = scratch.appendingPathComponent("b")
        let first = try Trainer(config: config, training: data, options: options(epochs: 2), runFolder: folder)
        let holder = TaskHolder()
        let task = Task { try await first.run { if $0.isEpochEnd { holder.cancel() } } }
        holder.task = task
        XCTAssertThrowsError(try runBlocking { try await task.value }) { XCTAssertTrue($0 is CancellationError, "\($0)") }
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("save_models/checkpoint_000.pth.tar").path))
        let resumed = try Trainer(config: config, training: data, options: options(epochs: 2), runFolder: folder, resume: true)
        let second = try runBlocking { try await resumed.run() }
        for (key, tensor) in uninterrupted.stateDict.tensors {
            XCTAssertTrue(second.stateDict.tensors[key]?.values == tensor.values, key)
        }
    }

    func testTrainsOnAnImageFolder() throws {
        let config = try TrainingTestData.tinyConfig()
        let scratch = try TestData.temporaryFolder()
        let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Samples/images")
        let names = try FileManager.default.contentsOfDirectory(atPath: samples.path).filter { $0.hasSuffix(".png") }.sorted().prefix(4)
        for (i, name) in names.enumerated() {
            let folder = scratch.appendingPathComponent("photos/\(i % 2 == 0 ? "even" : "odd")")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: samples.appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        let set = try LabeledData.open(scratch.appendingPathComponent("photos"))
        XCTAssertEqual(set.classNames, ["even", "odd"])
        let data = try TrainingData(set, config: config, metadata: ModelMetadata(classes: set.classNames))
        let run = scratch.appendingPathComponent("run")
        let trainer = try Trainer(config: config, training: data, options: TrainingOptions(epochs: 1, batchSize: 2, threads: 1),
                                  runFolder: run, metadata: ModelMetadata(classes: set.classNames))
        _ = try runBlocking { try await trainer.run() }
        XCTAssertEqual(try RANetModel.load(from: run).metadata.classes, ["even", "odd"])
    }

    func testBadTrainingInputs() throws {
        let config = try TrainingTestData.tinyConfig()
        let scratch = try TestData.temporaryFolder()
        let outside = try TrainingTestData.cifarFile(labels: [1, 2, 12], in: scratch, name: "outside.bin")
        XCTAssertThrowsMessage(try TrainingData(LabeledData.open(outside), config: config, metadata: ModelMetadata()),
                               contains: "label 12 is outside the config's 10 classes")
        // 28×28 records for a 32×32 network without the padding that would make them fit.
        var idx = Data([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28])
        idx.append(Data(count: 2 * 28 * 28))
        try idx.write(to: scratch.appendingPathComponent("small-images-idx3-ubyte"))
        try Data([0, 0, 8, 1, 0, 0, 0, 2, 3, 4]).write(to: scratch.appendingPathComponent("small-labels-idx1-ubyte"))
        XCTAssertThrowsMessage(try TrainingData(LabeledData.open(scratch.appendingPathComponent("small-images-idx3-ubyte")),
                                                config: config, metadata: ModelMetadata()),
                               contains: "images are 28×28 but the config takes 32×32")
        var empty = Data([0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0, 0, 32])
        try empty.write(to: scratch.appendingPathComponent("empty-images-idx3-ubyte"))
        empty = Data([0, 0, 8, 1, 0, 0, 0, 0])
        try empty.write(to: scratch.appendingPathComponent("empty-labels-idx1-ubyte"))
        XCTAssertThrowsMessage(try LabeledData.open(scratch.appendingPathComponent("empty-images-idx3-ubyte")), contains: "empty")
        let data = try TrainingTestData.trainingData(count: 16, in: scratch, config: config)
        XCTAssertThrowsMessage(try Trainer(config: config, training: data, options: TrainingOptions(epochs: 0), runFolder: nil), contains: "--epochs")
        XCTAssertThrowsMessage(try Trainer(config: config, training: data, options: options(epochs: 1), runFolder: scratch.appendingPathComponent("none"), resume: true),
                               contains: "nothing to resume")
    }

    func testANonFiniteLossStopsAndLeavesTheWeights() throws {
        let config = try TrainingTestData.tinyConfig()
        let network = try NetworkDescription(config: config)
        let model = try TrainableModel(config: config, stateDict: .random(for: network), threads: 1)
        let before = model.stateDict
        var images = [Float](repeating: 0.5, count: 2 * model.imageFloats)
        images[7] = .nan
        XCTAssertThrowsMessage(try model.step(images: images, targets: [1, 2], learningRate: 0.1), contains: "is nan", "not updated")
        for (key, tensor) in before.tensors { XCTAssertTrue(model.stateDict.tensors[key]?.values == tensor.values, key) }
        XCTAssertThrowsMessage(try model.step(images: [Float](repeating: 0, count: 2 * model.imageFloats), targets: [1, 10], learningRate: 0.1),
                               contains: "label 10 is outside")
        XCTAssertThrowsMessage(try model.step(images: [0, 1], targets: [1], learningRate: 0.1), contains: "needs \(model.imageFloats) values")
    }
}

/// Progress reports collected from the training thread.
final class ReportLog: @unchecked Sendable {
    private let lock = NSLock()
    private var reports: [TrainingProgress] = []
    func append(_ p: TrainingProgress) { lock.withLock { reports.append(p) } }
    var items: [TrainingProgress] { lock.withLock { reports } }
}

/// Lets a progress callback cancel the task it runs in.
final class TaskHolder: @unchecked Sendable {
    var task: Task<TrainingSummary, Error>?
    func cancel() { task?.cancel() }
}

/// Runs async work from a synchronous test.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let semaphore = DispatchSemaphore(value: 0)
    let box = ResultBox<T>()
    Task {
        do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
        semaphore.signal()
    }
    semaphore.wait()
    return try box.result!.get()
}

private final class ResultBox<T>: @unchecked Sendable { var result: Result<T, Error>? }
