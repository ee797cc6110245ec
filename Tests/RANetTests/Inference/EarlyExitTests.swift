import Foundation
@testable import RANet
import XCTest

/// Early exit must decide exactly as computing every exit and then applying the same
/// thresholds would (the authors' simulated path).
final class EarlyExitTests: XCTestCase {
    private func check(_ model: RANetModel, _ images: Tensor, _ thresholds: [Float], file: StaticString = #filePath, line: UInt = #line) throws -> [Prediction] {
        let predictions = try model.classify(images, thresholds: ExitThresholds(values: thresholds))
        let all = try ExitConfidences(logits: model.logits(for: images))
        let exits = BudgetedClassification.exits(all, thresholds: thresholds)
        XCTAssertEqual(predictions.map(\.exit), exits, file: file, line: line)
        XCTAssertEqual(predictions.map(\.label), exits.enumerated().map { all.prediction[$0.element][$0.offset] }, file: file, line: line)
        XCTAssertEqual(predictions.map(\.probability), exits.enumerated().map { all.confidence[$0.element][$0.offset] }, file: file, line: line)
        XCTAssertEqual(predictions.map(\.operations), exits.map { model.operationCount.opsPerExit[$0] }, file: file, line: line)
        return predictions
    }

    private func samples() throws -> Tensor {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Samples/fashion-mnist-test.npy")
        return try NpyFile.readFloat32(contentsOf: url)
    }

    private func slice(_ images: Tensor, _ range: Range<Int>) throws -> Tensor {
        let per = images.shape.dropFirst().reduce(1, *)
        return try Tensor(shape: [range.count] + images.shape.dropFirst(), values: Array(images.values[(range.lowerBound * per)..<(range.upperBound * per)]))
    }

    func testMatchesTheSimulatedPathOnTheBundledModel() throws {
        let images = try samples()
        let exits = 6
        for threads in [1, 2] {
            let model = try RANetModel.bundled(options: RANetModel.Options(threads: threads))
            let everyoneFirst = try check(model, images, [Float](repeating: 0, count: exits))
            XCTAssertEqual(Set(everyoneFirst.map(\.exit)), [0])
            let nobodyEarly = try check(model, images, [Float](repeating: 2, count: exits))
            XCTAssertEqual(Set(nobodyEarly.map(\.exit)), [exits - 1])
            let mixed = try check(model, images, [0.999, 0.99, 0.97, 0.95, 0.9, 0])
            XCTAssertGreaterThan(Set(mixed.map(\.exit)).count, 1, "the mixed thresholds should spread the images")
            for range in [0..<1, 3..<8, 0..<16] { _ = try check(model, try slice(images, range), [0.99, 0.98, 0.97, 0.96, 0.95, 0.5]) }
        }
    }

    /// Batches in lane groups move their running images into fewer groups after each
    /// exit; decisions, classes and probabilities must not change. 48 images (the
    /// samples, each copy scaled a little differently) at every lane width.
    func testLaneGroupsMatchTheSimulatedPath() throws {
        let images = try fortyEightImages()
        for lanes in TestData.laneWidths {
            for threads in [1, 2] where threads == 2 || lanes == TestData.laneWidths[0] {
                // The row kernels for images alone: `.fastest` measures, and in a debug build
                // (unoptimized C kernels) it finds images alone faster than lane groups.
                let model = try RANetModel.bundled(options: RANetModel.Options(threads: threads, lanes: lanes, singleImages: .rows))
                XCTAssertEqual(model.imageGroups(batch: images.shape[0]).first?.backend, lanes > 1 ? .laneGroup : .rowKernels)
                let mixed = try check(model, images, [0.999, 0.99, 0.97, 0.95, 0.9, 0])
                XCTAssertGreaterThan(Set(mixed.map(\.exit)).count, 2, "the mixed thresholds should spread the images")
                _ = try check(model, images, [0.9, 0.9, 0.9, 0.9, 0.9, 0.9])
            }
        }
    }

    /// A large batch in lane groups keeps every image's place and decision, its last
    /// group partly filled, and holds few contexts whatever its size: a new one is taken
    /// only when no later stage is ready, so at most one per thread running and one
    /// forming group per later stage (``BatchSchedule``).
    func testALargeBatchMatchesTheSimulatedPathOnFewContexts() throws {
        let samples = try samples()
        let threads = 2
        for lanes in TestData.laneWidths where lanes > 1 {
            let count = 33 * lanes + lanes / 2 + 1
            let per = samples.shape.dropFirst().reduce(1, *), n = samples.shape[0]
            var values: [Float] = []
            for i in 0..<count {
                let scale: Float = 1 + 0.01 * Float(i / n)
                values += samples.values[(i % n * per)..<((i % n + 1) * per)].map { $0 * scale }
            }
            let images = try Tensor(shape: [count] + samples.shape.dropFirst(), values: values)
            let model = try RANetModel.bundled(options: RANetModel.Options(threads: threads, lanes: lanes, singleImages: .rows))
            XCTAssertEqual(model.imageGroups(batch: count, merging: true).map(\.backend), [RANetModel.GroupBackend](repeating: .laneGroup, count: 34),
                           "\(lanes) lanes")
            let mixed = try check(model, images, [0.999, 0.99, 0.97, 0.95, 0.9, 0])
            XCTAssertGreaterThan(Set(mixed.map(\.exit)).count, 2, "\(lanes) lanes: the mixed thresholds should spread the images")
            XCTAssertLessThanOrEqual(model.pooledLaneContexts, threads + model.exitCount - 1, "\(lanes) lanes")
        }
    }

    /// The samples, each copy scaled a little differently: 48 images.
    private func fortyEightImages() throws -> Tensor {
        let samples = try samples()
        var values: [Float] = []
        for copy in 0..<3 {
            values += samples.values.map { $0 * (1 + 0.05 * Float(copy)) }
        }
        return try Tensor(shape: [3 * samples.shape[0]] + samples.shape.dropFirst(), values: values)
    }

    /// An image leaves at the same exit with the same class and probability whatever
    /// batch it is classified in (so `predict --shard` results do not depend on how the
    /// files were split): the 48 images at once, and in batches of 1, 5, 7 and 35, with
    /// the row kernels for images alone (the bit-identical choice).
    func testAnImagesPredictionDoesNotDependOnItsBatch() throws {
        let images = try fortyEightImages()
        let thresholds = ExitThresholds(values: [0.999, 0.99, 0.97, 0.95, 0.9, 0])
        for lanes in TestData.laneWidths {
            let model = try RANetModel.bundled(options: RANetModel.Options(threads: 2, lanes: lanes, singleImages: .rows))
            let whole = try model.classify(images, thresholds: thresholds)
            var start = 0
            for size in [1, 5, 7, 35] {
                let part = try model.classify(try slice(images, start..<(start + size)), thresholds: thresholds)
                for (i, p) in part.enumerated() {
                    let w = whole[start + i]
                    XCTAssertTrue(p.exit == w.exit && p.label == w.label && p.probability == w.probability,
                                  "\(lanes) lanes: image \(start + i) alone in a batch of \(size): \(p) vs \(w)")
                }
                start += size
            }
        }
    }

    func testMatchesTheSimulatedPathOnCifarC1() throws {
        let folder = try TestData.sharedItem("reference/models/cifar-c1")
        let model = try RANetModel.load(from: folder)
        let images = try NpyFile.readFloat32(contentsOf: folder.appendingPathComponent("input.npy"))
        let all = try ExitConfidences(logits: model.logits(for: images))
        // Thresholds between the images' own confidences, so that they leave at several exits.
        let sorted = all.confidence[0].sorted()
        _ = try check(model, images, [sorted[sorted.count / 2], sorted[0], sorted[0], 1.5, 1.5, 0])
        _ = try check(model, images, [1.5, 1.5, 1.5, 1.5, 1.5, 1.5])
    }

    func testThresholdsThatDoNotFit() throws {
        let model = try RANetModel.bundled()
        let images = try samples()
        XCTAssertThrowsMessage(try model.classify(images, thresholds: ExitThresholds(values: [0.5, 0.5])), contains: "2 thresholds", "6 exits")
        XCTAssertThrowsMessage(try model.classify(images, thresholds: ExitThresholds(values: [0.5, .nan, 0.5, 0.5, 0.5, 0])), contains: "NaN")
        XCTAssertThrowsMessage(try model.classify(images, thresholds: ExitThresholds(values: [Float](repeating: 0.5, count: 6), modelFingerprint: "0123456789abcdef")),
                               contains: "another model")
        XCTAssertNoThrow(try model.classify(images, thresholds: ExitThresholds(values: [Float](repeating: 0.5, count: 6), modelFingerprint: model.fingerprint)))
    }

    func testThresholdFileRoundTrip() throws {
        let url = try TestData.temporaryFolder().appendingPathComponent("t.json")
        let thresholds = ExitThresholds(values: [0.9, 0.8, -1e8], modelFingerprint: "00ff00ff00ff00ff", expectedOps: 1.5e7, validationAccuracy: 91.2, budget: 2e7)
        try thresholds.write(to: url)
        XCTAssertEqual(try ExitThresholds.read(contentsOf: url), thresholds)
        try Data("{\"thresholds\": [1, \"x\"]}".utf8).write(to: url)
        XCTAssertThrowsMessage(try ExitThresholds.read(contentsOf: url), contains: "numbers")
        try Data("{\"exits\": 3, \"thresholds\": [1]}".utf8).write(to: url)
        XCTAssertThrowsMessage(try ExitThresholds.read(contentsOf: url), contains: "3 exits")
    }

    func testFingerprintFollowsWeightsNotFiles() throws {
        let folder = try TestData.sharedItem("reference/models/tiny-c3")
        let contents = try ModelFile.read(from: folder)
        let file = try TestData.temporaryFolder().appendingPathComponent("m.safetensors")
        try ModelFile.write(contents, to: file)
        XCTAssertEqual(try RANetModel.load(from: folder).fingerprint, try RANetModel.load(from: file).fingerprint)
        XCTAssertNotEqual(try RANetModel.load(from: folder).fingerprint, try RANetModel.bundled().fingerprint)
    }
}
