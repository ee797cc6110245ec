import Foundation
import RANet
import XCTest

/// The batching front: concurrent calls share batches and get what the model gives them,
/// and a full queue, a passed deadline and a cancelled task each end a request cleanly.
final class ClassificationServiceTests: XCTestCase {
    private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    private func samples() throws -> (RANetModel, [Tensor]) {
        let model = try RANetModel.bundled(options: RANetModel.Options(singleImages: .rows))
        let batch = try NpyFile.readFloat32(contentsOf: root.appendingPathComponent("Samples/fashion-mnist-test.npy"))
        let size = batch.values.count / batch.shape[0]
        let images = try (0..<batch.shape[0]).map {
            try Tensor(shape: model.imageShape, values: Array(batch.values[($0 * size)..<(($0 + 1) * size)]))
        }
        return (model, images)
    }

    func testConcurrentCallsShareBatchesAndGetTheModelsAnswers() async throws {
        let (model, images) = try samples()
        let expected = try model.classify(Tensor(shape: [images.count] + model.imageShape, values: images.flatMap(\.values)),
                                          thresholds: model.defaultThresholds, top: 2)
        let service = try ClassificationService(model: model, options: .init(maxBatch: 8, maxQueueDelay: .milliseconds(20)))
        let results = try await withThrowingTaskGroup(of: (Int, Prediction).self) { group in
            for (i, image) in images.enumerated() {
                group.addTask { (i, try await service.classify(image, top: 2)) }
            }
            var results = [Prediction?](repeating: nil, count: images.count)
            for try await (i, prediction) in group { results[i] = prediction }
            return results.map { $0! }
        }
        // Bit-identical whatever batch an image ran in (row kernels for images alone).
        XCTAssertEqual(results, expected)
        let stats = service.statistics
        XCTAssertEqual(stats.images, images.count)
        XCTAssertLessThan(stats.batches, images.count, "calls waiting together ran together: \(stats.batchSizes)")
        XCTAssertLessThanOrEqual(stats.batchSizes.keys.max() ?? 0, 8)
        XCTAssertEqual(stats.exits.reduce(0, +), images.count)
        XCTAssertEqual(stats.exits, (0..<model.exitCount).map { k in expected.filter { $0.exit == k }.count })
        await service.shutdown()
    }

    func testEncodedImagesAndShapes() async throws {
        let (model, _) = try samples()
        let service = try ClassificationService(model: model)
        let png = try Data(contentsOf: root.appendingPathComponent("Samples/images/0002-trouser.png"))
        let prediction = try await service.classify(encoded: png, top: 3)
        XCTAssertEqual(prediction, try model.classify(encoded: png, top: 3))
        do {
            _ = try await service.classify(Tensor(shape: [3, 28, 28], values: [Float](repeating: 0, count: 3 * 28 * 28)))
            XCTFail("a wrong shape is refused")
        } catch {
            XCTAssertTrue("\(error)".contains("3×32×32"), "\(error)")
        }
        do {
            _ = try await service.classify(encoded: Data("not an image".utf8))
            XCTFail("undecodable bytes are refused")
        } catch {
            XCTAssertFalse("\(error)".isEmpty)
        }
        await service.shutdown()
        do {
            _ = try await service.classify(encoded: png)
            XCTFail("a stopped service refuses requests")
        } catch {
            XCTAssertEqual(error as? ClassificationService.ServiceError, .shutDown)
        }
    }

    /// With the worker held in a long wait for a batch, a full queue refuses at once, a
    /// passed deadline is dropped before running, and a cancelled task's request leaves.
    func testOverloadDeadlinesAndCancellation() async throws {
        let (model, images) = try samples()
        let service = try ClassificationService(model: model, options: .init(maxBatch: 64, maxQueueDelay: .seconds(2), maxQueue: 3))
        let expired = Task { try await service.classify(images[0], deadline: .now + .milliseconds(50)) }
        let cancelled = Task { try await service.classify(images[1]) }
        let kept = Task { try await service.classify(images[2]) }
        while service.queueDepth < 3 { try await Task.sleep(for: .milliseconds(5)) }
        do {
            _ = try await service.classify(images[3])
            XCTFail("a full queue refuses")
        } catch {
            XCTAssertEqual(error as? ClassificationService.ServiceError, .overloaded)
        }
        cancelled.cancel()
        do {
            _ = try await cancelled.value
            XCTFail("a cancelled request does not run")
        } catch {
            XCTAssertTrue(error is CancellationError, "\(error)")
        }
        do {
            _ = try await expired.value
            XCTFail("a request past its deadline does not run")
        } catch {
            XCTAssertEqual(error as? ClassificationService.ServiceError, .deadlinePassed)
        }
        let prediction = try await kept.value
        XCTAssertEqual(prediction, try model.classify(Tensor(shape: [1] + model.imageShape, values: images[2].values), thresholds: model.defaultThresholds)[0])
        let stats = service.statistics
        XCTAssertEqual(stats.overloaded, 1)
        XCTAssertEqual(stats.cancelled, 1)
        XCTAssertEqual(stats.deadlinesPassed, 1)
        XCTAssertEqual(stats.images, 1)
        await service.shutdown()
    }
}
