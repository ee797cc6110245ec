import Foundation
@testable import RANet
import XCTest

/// The optimizer, the learning-rate schedules, augmentation and the random streams.
final class TrainingComponentsTests: XCTestCase {
    func testMultistepFollowsTheAuthorsRule() {
        let rates = (0..<12).map { LearningRateSchedule.multistep.rate(base: 0.1, epoch: $0, epochs: 12, batch: 0, batches: 10, data: .cifar10) }
        XCTAssertEqual(rates.map { ($0 * 1e4).rounded() / 1e4 }, [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.001, 0.001, 0.001])
        XCTAssertEqual(LearningRateSchedule.multistep.rate(base: 0.1, epoch: 61, epochs: 90, batch: 0, batches: 1, data: .imagenet), 0.001, accuracy: 1e-12)
        XCTAssertEqual(LearningRateSchedule.cosine.rate(base: 0.1, epoch: 0, epochs: 2, batch: 0, batches: 10, data: .cifar10), 0.1)
        XCTAssertEqual(LearningRateSchedule.cosine.rate(base: 0.1, epoch: 1, epochs: 2, batch: 0, batches: 10, data: .cifar10), 0.05, accuracy: 1e-12)
    }

    func testSGDAppliesDecayThenMomentumAsTorch() throws {
        let config = try TrainingTestData.tinyConfig()
        let network = try NetworkDescription(config: config)
        let state = try TrainingState(network: network, stateDict: .random(for: network))
        let key = state.parameterOrder[0].key
        let w0 = state.pointer(key)[0]
        let sgd = SGD(momentum: 0.9, weightDecay: 0.01)
        state.gradient(key)[0] = 2
        sgd.step(state, learningRate: 0.5)
        let d1 = 2 + 0.01 * w0
        XCTAssertEqual(state.pointer(key)[0], w0 - 0.5 * d1, accuracy: 1e-6)
        let w1 = state.pointer(key)[0]
        state.gradient(key)[0] = -1
        sgd.step(state, learningRate: 0.5)
        let buffer = 0.9 * d1 + (-1 + 0.01 * w1)
        XCTAssertEqual(state.pointer(key)[0], w1 - 0.5 * buffer, accuracy: 1e-6)
        XCTAssertEqual(state.momentumBuffers[0]?[0] ?? 0, buffer, accuracy: 1e-6)
    }

    func testAugmentationCropsWithBlackAndFlips() {
        let size = 4
        let image = (0..<(3 * size * size)).map(Float.init)
        var draws = TrainingRandom(seed: 3, epoch: 0)
        var random = draws
        let dy = draws.below(3) - 1, dx = draws.below(3) - 1, mirror = draws.below(2) == 1
        var out = image, scratch: [Float] = []
        out.withUnsafeMutableBufferPointer {
            Augmentation(padding: 1, flip: true).apply($0, size: size, background: [-1, -2, -3], random: &random, scratch: &scratch)
        }
        for c in 0..<3 {
            for y in 0..<size {
                for x in 0..<size {
                    let sy = y + dy, sx = (mirror ? size - 1 - x : x) + dx
                    let expected = (0..<size).contains(sy) && (0..<size).contains(sx) ? image[(c * size + sy) * size + sx] : Float(-1 - c)
                    XCTAssertEqual(out[(c * size + y) * size + x], expected)
                }
            }
        }
    }

    func testRandomStreamsDependOnSeedAndEpochOnly() {
        var a = TrainingRandom(seed: 5, epoch: 2), b = TrainingRandom(seed: 5, epoch: 2)
        var c = TrainingRandom(seed: 5, epoch: 3), d = TrainingRandom(seed: 5, epoch: 2)
        XCTAssertEqual(a.permutation(100), b.permutation(100))
        XCTAssertNotEqual(d.next(), c.next())
        XCTAssertEqual(Set(a.permutation(50)), Set(0..<50))
    }
}
