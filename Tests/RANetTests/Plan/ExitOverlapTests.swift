import Foundation
@testable import RANet
import XCTest

/// Exit heads that run beside the next block: which they are, an arena that keeps them
/// apart, and an image alone that gets the same bits with them overlapped.
final class ExitOverlapTests: XCTestCase {
    /// Every exit but the last overlaps the block after it; a head is its exit's
    /// convolutions, pooling and linear layer, and the block writes none of its input.
    func testEveryHeadButTheLastOverlapsTheNextBlock() throws {
        for name in ["cifar-c1", "tiny-c3"] {
            let network = try NetworkDescription(config: RANetModel.load(from: TestData.referenceModel(name).folder).config)
            let overlaps = ExitOverlap.all(in: network)
            XCTAssertEqual(overlaps.count, network.exitCount - 1, name)
            for (k, overlap) in overlaps.enumerated() {
                guard case .linear(_, let exit) = network.layers[overlap.head.upperBound].operation else {
                    return XCTFail("\(name): head \(k) does not end with a linear layer")
                }
                XCTAssertEqual(exit, k, name)
                guard case .conv(let unit) = network.layers[overlap.head.lowerBound].operation else {
                    return XCTFail("\(name): head \(k) does not start with a convolution")
                }
                XCTAssertTrue(unit.convKey.hasPrefix("classifier.\(k)."), "\(name): \(unit.convKey)")
                XCTAssertEqual(overlap.block.lowerBound, overlap.head.upperBound + 1)
                XCTAssertFalse(overlap.block.isEmpty)
            }
        }
    }

    /// In the overlapping arena, no tensor a head touches shares a float with a tensor its
    /// block touches (the ordinary arena does reuse the heads' memory in the blocks).
    func testTheArenaKeepsHeadsApartFromTheirBlocks() throws {
        let network = try NetworkDescription(config: RANetModel.load(from: TestData.referenceModel("cifar-c1").folder).config)
        let overlaps = ExitOverlap.all(in: network)
        func clashes(_ plan: ExecutionPlan) -> Int {
            func span(_ t: Int) -> Range<Int> { plan.tensorOffsets[t]..<(plan.tensorOffsets[t] + network.tensors[t].elementCount) }
            var count = 0
            for overlap in overlaps {
                let head = Set(network.layers[overlap.head].flatMap { [$0.input.tensor, $0.output.tensor] }).subtracting([network.logitsTensor])
                let block = Set(network.layers[overlap.block].flatMap { [$0.input.tensor, $0.output.tensor] })
                for h in head where !block.contains(h) {
                    count += block.filter { span($0).overlaps(span(h)) }.count
                }
            }
            return count
        }
        XCTAssertEqual(clashes(ExecutionPlan(network: network, overlaps: overlaps)), 0)
        XCTAssertGreaterThan(clashes(ExecutionPlan(network: network)), 0, "the test would not see a clash")
    }

    /// An image alone on two threads (heads overlapped) gets the bits it gets on one
    /// (every layer in turn), in the row kernels; with oneDNN's layers too, the reference.
    func testAnImageAloneOnTwoThreadsGetsTheSameBits() throws {
        for name in ["cifar-c1", "tiny-c3"] {
            let reference = try TestData.referenceModel(name)
            let imageFloats = reference.input.values.count / reference.input.shape[0]
            let image = try Tensor(shape: [1] + Array(reference.input.shape.dropFirst()), values: Array(reference.input.values.prefix(imageFloats)))
            var results: [Tensor] = []
            for threads in [1, 2] {
                let model = try RANetModel.load(from: reference.folder, options: RANetModel.Options(threads: threads, lanes: 1, singleImages: .rows))
                XCTAssertEqual(model.threadsUsed(batch: 1), threads)
                results.append(try model.logits(for: image))
            }
            XCTAssertEqual(results[0].values, results[1].values, name)
            let fastest = try RANetModel.load(from: reference.folder, options: RANetModel.Options(threads: 2, lanes: 1, singleImages: .fastest, planCache: nil))
            let expected = try Tensor(shape: [reference.expected.shape[0], 1, reference.expected.shape[2]],
                                  values: (0..<reference.expected.shape[0]).flatMap { k in
                                      reference.expected.values[(k * reference.expected.shape[1] * reference.expected.shape[2])...].prefix(reference.expected.shape[2])
                                  })
            ParityTests.assertParity(try fastest.logits(for: image), expected, "\(name), first image alone, overlapped")
        }
    }
}
