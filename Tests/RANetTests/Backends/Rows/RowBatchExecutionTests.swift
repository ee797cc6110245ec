import Foundation
@testable import RANet
import XCTest

/// Images alone run together layer by layer: each image gets the bits it gets alone,
/// with its batched layers computed for every image at once, and an image retired at
/// an exit is computed no further.
final class RowBatchExecutionTests: XCTestCase {
    /// cifar-c1's row program, its reference images, and a row batch of `images` that
    /// batches every layer by output channels (the network is too small for the default
    /// thresholds to batch any).
    private func setUp(images: Int) throws -> (RANetModel, TestData.ReferenceModel, RowBatchExecution, [Bool]) {
        let reference = try TestData.referenceModel("cifar-c1")
        let model = try RANetModel.load(from: reference.folder, options: RANetModel.Options(threads: 1, lanes: 1, singleImages: .rows))
        let program = try model.program(lanes: 1, threads: 1)
        let batched = RowBatchExecution.batchedLayers(of: program, layerFloats: 0, programFloats: 0)
        XCTAssertTrue(batched.contains(true))
        XCTAssertFalse(RowBatchExecution.batchedLayers(of: program).contains(true), "cifar-c1's weights fit in cache")
        let batch = RowBatchExecution(images: try (0..<images).map { _ in try model.acquireLaneContext(lanes: 1) }, batched: batched)
        return (model, reference, batch, batched)
    }

    private func logits(_ context: GroupExecution, slot: Int, exit: Int, classes: Int) -> [Float] {
        var out = [Float](repeating: .nan, count: classes)
        context.copyLogits(slot: slot, exit: exit, to: &out)
        return out
    }

    /// Each image's every exit against the same image alone in the same program, bit for
    /// bit, on one thread and on two sharing the passes.
    func testEachImageGetsTheBitsItGetsAlone() throws {
        let (model, reference, batch, _) = try setUp(images: 3)
        let alone = try model.acquireLaneContext(lanes: 1)
        let imageFloats = model.imageShape.reduce(1, *), count = reference.input.shape[0]
        try reference.input.values.withUnsafeBufferPointer { p in
            let images = (0..<3).map { p.baseAddress! + ($0 % count) * imageFloats }
            for threads in [1, 2] {
                batch.load(images)
                let team = threads > 1 ? PassTeam(shares: 4) : nil
                batch.team = team
                let running = Counter(1), failure = ErrorBox()
                runOnWorkers(threads, openMPThreads: 1) { worker in
                    guard worker == 0 else {
                        var idle = 0
                        while running.value > 0 { team!.helpOrWait(idle: &idle) }
                        return
                    }
                    defer { running.decrement() }
                    do { try batch.run() } catch { failure.set(error) }
                }
                batch.team = nil
                XCTAssertNil(failure.error)
                for (slot, image) in images.enumerated() {
                    alone.load([image])
                    try alone.run()
                    for exit in 0..<model.exitCount {
                        XCTAssertEqual(logits(batch, slot: slot, exit: exit, classes: model.numClasses),
                                       logits(alone, slot: 0, exit: exit, classes: model.numClasses),
                                       "\(threads) threads, image \(slot), exit \(exit + 1)")
                    }
                }
            }
        }
    }

    /// After a retire at the first exit, the later layers skip that image (its last
    /// exit's logits stay as they were) and the others come out as alone.
    func testARetiredImageIsComputedNoFurther() throws {
        let (model, reference, batch, _) = try setUp(images: 3)
        let alone = try model.acquireLaneContext(lanes: 1)
        let imageFloats = model.imageShape.reduce(1, *), last = model.exitCount - 1, classes = model.numClasses
        let firstExit = model.exitLayers[0]
        try reference.input.values.withUnsafeBufferPointer { p in
            let images = (0..<3).map { p.baseAddress! + ($0 % reference.input.shape[0]) * imageFloats }
            batch.load(images)
            try batch.run(layers: 0..<(firstExit + 1))
            let before = logits(batch, slot: 1, exit: last, classes: classes)
            batch.retire(slot: 1)
            try batch.run(layers: (firstExit + 1)..<batch.layerCount)
            XCTAssertEqual(logits(batch, slot: 1, exit: last, classes: classes), before)
            for slot in [0, 2] {
                alone.load([images[slot]])
                try alone.run()
                XCTAssertEqual(logits(batch, slot: slot, exit: last, classes: classes), logits(alone, slot: 0, exit: last, classes: classes))
            }
        }
    }
}
