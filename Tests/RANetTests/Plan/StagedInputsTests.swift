import CRANet
@testable import RANet
import XCTest

/// Staged inputs kept from one convolution to the next: which layers share a buffer,
/// and that what they keep is still what they would stage.
final class StagedInputsTests: XCTestCase {
    /// Every 1×1 layer's input staged in pairs, as the bf16 row kernels on VDPBF16PS stage
    /// it; nothing else staged.
    private func pairedOneByOne(_ network: NetworkDescription) -> [StagedInputs.Staging?] {
        network.layers.map { layer in
            guard case .conv(let unit) = layer.operation, unit.kernel == 1 else { return nil }
            let (c, h, w) = network.shape(of: layer.input)
            return StagedInputs.Staging(padding: 0, stride: 1, paired: true, floats: (c + 1) / 2 * h * w)
        }
    }

    /// The dense blocks' 1×1 layers form chains; each layer that keeps planes finds them
    /// in a buffer that the last layer using it filled from the same channels of the same
    /// tensor, that nothing wrote since, and that no other chain's buffer overlapped since.
    func testChainsKeepOnlyWhatIsStillStaged() throws {
        for name in ["cifar-c1", "tiny-c3"] {
            let network = try NetworkDescription(config: RANetModel.load(from: TestData.referenceModel(name).folder).config)
            let staging = pairedOneByOne(network)
            let plan = StagedInputs(network: network, staging: staging, excluded: [Bool](repeating: false, count: network.layers.count))
            let kept = plan.slots.indices.filter { (plan.slots[$0]?.firstPlane ?? 0) > 0 }
            XCTAssertGreaterThan(kept.count, network.layers.count / 8, "\(name): too few layers keep their staged input")
            func span(_ i: Int) -> Range<Int> { plan.slots[i]!.offset..<(plan.slots[i]!.offset + staging[i]!.floats) }
            for i in plan.slots.indices {
                guard let slot = plan.slots[i] else { continue }
                XCTAssertLessThanOrEqual(span(i).upperBound, plan.floats, name)
                guard slot.firstPlane > 0 else { continue }
                let previous = try XCTUnwrap((0..<i).last { plan.slots[$0]?.offset == slot.offset }, "\(name): layer \(i)")
                let (before, now) = (network.layers[previous].input, network.layers[i].input)
                XCTAssertEqual(before.tensor, now.tensor, "\(name): layer \(i)")
                XCTAssertEqual(before.offset, now.offset, "\(name): layer \(i)")
                XCTAssertEqual(slot.firstPlane, before.channels / 2, "\(name): layer \(i)")
                for j in (previous + 1)..<i {
                    let written = network.layers[j].output
                    XCTAssertFalse(written.tensor == now.tensor && written.offset < now.offset + before.channels
                                       && now.offset < written.offset + written.channels,
                                   "\(name): layer \(j) writes what layer \(i) keeps staged")
                    if plan.slots[j] != nil {
                        XCTAssertFalse(span(j).overlaps(span(i)), "\(name): layer \(j) stages over what layer \(i) keeps")
                    }
                }
            }
        }
    }

    /// A layer in no chain (alone, or excluded as an overlapping head) stages into the
    /// shared scratch; without staging there is no arena.
    func testLayersOutsideChainsUseTheScratch() throws {
        let network = try NetworkDescription(config: RANetModel.load(from: TestData.referenceModel("cifar-c1").folder).config)
        let staging = pairedOneByOne(network)
        let none = StagedInputs(network: network, staging: staging, excluded: [Bool](repeating: true, count: network.layers.count))
        XCTAssertTrue(none.slots.allSatisfy { $0 == nil })
        XCTAssertEqual(none.floats, 0)
        let unstaged = StagedInputs(network: network, staging: staging.map { _ in nil },
                                    excluded: [Bool](repeating: false, count: network.layers.count))
        XCTAssertEqual(unstaged.floats, 0)
        let chained = StagedInputs(network: network, staging: staging, excluded: [Bool](repeating: false, count: network.layers.count))
        for (i, slot) in chained.slots.enumerated() where slot != nil {
            XCTAssertNotNil(staging[i], "layer \(i) has a slot but stages nothing")
        }
    }

    /// tiny-c3 in bf16, an image alone in the row kernels: where they stage pairs
    /// (VDPBF16PS) its dense 1×1 layers keep their staged input, and on every CPU the
    /// image gets the bits a lane group gives it, which keeps none.
    func testAnImageAloneKeepsItsStagedInputsAndItsBits() throws {
        let tiny = try TestData.referenceModel("tiny-c3")
        var options = RANetModel.Options(threads: 1, lanes: RANetModel.Options.defaultLanes, singleImages: .rows, planCache: nil)
        options.precision = .bf16
        let model = try RANetModel.load(from: tiny.folder, options: options)
        let context = try model.acquireLaneContext(lanes: 1)
        defer { model.release(lanes: [context]) }
        let pairs = String(cString: cranet_kernels_bf16_dot(context.program.kernelTable)) == "vdpbf16ps"
        if pairs { XCTAssertTrue(context.stagedInputs.slots.contains { ($0?.firstPlane ?? 0) > 0 }) }
        let floats = tiny.input.values.count / tiny.input.shape[0]
        let image = try Tensor(shape: [1] + Array(tiny.input.shape.dropFirst()), values: Array(tiny.input.values.prefix(floats)))
        let alone = try model.logits(for: image)
        guard options.lanes > 1 else { return }
        let group = try model.logits(for: try ParityTests.repeated(tiny.input, tiny.expected, to: options.lanes).0)
        XCTAssertEqual(ParityTests.row(alone, image: 0), ParityTests.row(group, image: 0))
    }
}
