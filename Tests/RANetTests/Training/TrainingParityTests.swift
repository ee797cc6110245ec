import Foundation
@testable import RANet
import XCTest

/// The authors' three training steps on a fixed batch (`reference/training/tiny-c3`):
/// losses, gradients, weights, running statistics and momentum buffers.
final class TrainingParityTests: XCTestCase {
    struct Fixture {
        let folder: URL
        let config: RANetConfig
        let start: TorchCheckpoint.Contents
        let images: [Float]
        let targets: [Int]
        let losses: [Double]
    }

    static func fixture() throws -> Fixture {
        let folder = try TestData.sharedItem("reference/training/tiny-c3")
        let config = try RANetConfig.load(contentsOf: folder.appendingPathComponent("args.txt"))
        let start = try TorchCheckpoint.readContents(contentsOf: folder.appendingPathComponent("start.pth.tar"))
        let images = try NpyFile.readFloat32(contentsOf: folder.appendingPathComponent("train_input.npy")).values
        guard case .int64(_, let labels) = try NpyFile.read(contentsOf: folder.appendingPathComponent("train_targets.npy")) else {
            throw XCTSkip("targets are not int64")
        }
        guard case .float64(_, let losses) = try NpyFile.read(contentsOf: folder.appendingPathComponent("step_losses.npy")) else {
            throw XCTSkip("step losses are not float64")
        }
        return Fixture(folder: folder, config: config, start: start, images: images, targets: labels.map { Int($0) }, losses: losses)
    }

    /// Largest difference relative to the reference tensor's largest magnitude.
    static func relativeError(_ ours: [Float], _ theirs: [Float]) -> Float {
        precondition(ours.count == theirs.count)
        let scale = max(theirs.map { abs($0) }.max() ?? 0, 1e-12)
        return zip(ours, theirs).map { abs($0 - $1) }.max().map { $0 / scale } ?? 0
    }

    /// Step 1 holds everything to the bounds: each exit's loss within 1e-5
    /// relative, weights, running statistics and momentum buffers within 1e-4 of each
    /// tensor's largest magnitude, `num_batches_tracked` equal; gradients within 1e-3.
    /// Step 2's losses hold to 1e-5 too. Step 3 cannot: three steps of lr 0.1 on one
    /// batch amplify any difference about 5,000-fold per step (this implementation
    /// against itself on 1 and 2 threads, whose sums differ in the last bit only: 2e-6
    /// after step 1, 1e-2 after step 2, 0.9 after step 3), so step 3's losses are held
    /// to 2e-2 (measured: 1.1e-3 on one thread, 6.4e-3 on two) and its weights are not compared.
    /// These hold `ranet train-steps`'s default, oneDNN for every convolution (the
    /// arithmetic PyTorch's CPU convolutions share).
    func testStepsMatchTheAuthorsOnOneThread() throws { try assertStepsMatchTheAuthors(threads: 1, convolutions: .oneDNN) }

    func testStepsMatchTheAuthorsOnTwoThreads() throws { try assertStepsMatchTheAuthors(threads: 2, convolutions: .oneDNN) }

    /// Training's default, the row kernels for convolutions of few channels, sums in
    /// another order and flips the ReLU at the rounding boundary described at ``Bounds``.
    func testFastestConvolutionsFollowTheAuthors() throws { try assertStepsMatchTheAuthors(threads: 2, convolutions: .fastest) }

    /// Bounds by the vector width of oneDNN's kernels, whose convolution sums decide the last
    /// bits of a step. Measured worst (2026-12-01, AMD EPYC family 26, Zen 5; narrower widths through
    /// DNNL_MAX_CPU_ISA): weights 1.9e-6 / 2.8e-6, momentum buffers 4.2e-5 / 1.7e-4, gradients
    /// 9.0e-4 / 1.5e-4 at 512 / 256 bits. The 1.7e-4 is the one-element momentum buffer of
    /// scale_flows.3.4.layers.1.conv_up.net.1.weight, a sum that cancels to -2.42e-5 and moves
    /// by 3e-9 (float32 rounding of the convolutions feeding it) between the two widths. At 128 bits (SSE4.1) one batch norm's shift gradient
    /// (scale_flows.3.1.layers.0.conv_up.net.4) differs by 7%: a ReLU decision on an activation
    /// at the rounding boundary goes the other way; weights then differ by 1.2e-3, step-2 losses
    /// by 3e-4, step-3 losses by 2.9e-2. The row kernels' convolutions (``TrainingConvolutions/fastest``)
    /// flip the same ReLU at every width (2026-12-05, AMD Zen 4: shift gradient 4.5%, weights
    /// 1.0e-3, step-2 losses 2.4e-4), so they are held to the 128-bit bounds.
    struct Bounds {
        var weights: Float = 1e-4, momentum: Float = 1e-4, gradients: Float = 1e-3, secondLosses = 1e-5, thirdLosses = 2e-2

        static func here(_ convolutions: TrainingConvolutions) -> Bounds {
            switch (convolutions, TrainableModel.oneDNNVectorBits) {
            case (.oneDNN, 512): Bounds()
            case (.oneDNN, 256): Bounds(momentum: 2e-4)
            default: Bounds(weights: 2e-3, momentum: 0.1, gradients: 0.1, secondLosses: 1e-3, thirdLosses: 5e-2)
            }
        }
    }

    func assertStepsMatchTheAuthors(threads: Int, convolutions: TrainingConvolutions) throws {
        let bounds = Bounds.here(convolutions)
        let f = try Self.fixture()
        let model = try TrainableModel(config: f.config, stateDict: f.start.stateDict, batchesTracked: f.start.batchesTracked,
                                       optimizer: SGD(momentum: 0.9, weightDecay: 1e-4), threads: threads,
                                       convolutions: convolutions)
        let exits = f.config.exitCount
        for step in 0..<3 {
            let result = try model.step(images: f.images, targets: f.targets, learningRate: 0.1)
            for k in 0..<exits {
                let theirs = f.losses[step * exits + k]
                XCTAssertEqual(result.losses[k], theirs, accuracy: [1e-5, bounds.secondLosses, bounds.thirdLosses][step] * abs(theirs), "step \(step + 1) exit \(k + 1)")
            }
            if step == 0 {
                let theirGradients = try TorchCheckpoint.readTensors(contentsOf: f.folder.appendingPathComponent("grads_step1.pth.tar"), under: "grad")
                let gradients = model.state.gradientsByKey
                XCTAssertEqual(Set(gradients.keys), Set(theirGradients.tensors.keys))
                let worst = try gradients.map { key, ours in
                    (Self.relativeError(ours, try XCTUnwrap(theirGradients.tensors[key], key).values), key)
                }.max { $0.0 < $1.0 }!
                                XCTAssertLessThan(worst.0, bounds.gradients, "gradient \(worst.1)")
                let after = try TorchCheckpoint.readContents(contentsOf: f.folder.appendingPathComponent("after_step1.pth.tar"))
                try assertMatches(model, after, step: 1, bounds: bounds)
            }
        }
    }

    func assertMatches(_ model: TrainableModel, _ theirs: TorchCheckpoint.Contents, step: Int, bounds: Bounds,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let ours = model.stateDict
        var worst: (Float, String) = (0, "")
        for (key, tensor) in ours.tensors {
            let e = Self.relativeError(tensor.values, try XCTUnwrap(theirs.stateDict.tensors[key], key).values)
            if e > worst.0 { worst = (e, key) }
        }
        XCTAssertLessThan(worst.0, bounds.weights, "after step \(step): \(worst.1)", file: file, line: line)
        let buffers = model.state.momentumBuffers
        XCTAssertEqual(buffers.count, theirs.momentumBuffers.count, file: file, line: line)
        var worstMomentum: (Float, Int) = (0, -1)
        for (index, buffer) in buffers {
            let e = Self.relativeError(buffer, try XCTUnwrap(theirs.momentumBuffers[index]))
            if e > worstMomentum.0 { worstMomentum = (e, index) }
        }
        XCTAssertLessThan(worstMomentum.0, bounds.momentum, "after step \(step): momentum buffer \(worstMomentum.1)", file: file, line: line)
        XCTAssertEqual(model.state.batchesTracked, theirs.batchesTracked, file: file, line: line)
    }
}
