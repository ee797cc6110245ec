import Foundation
import RANet
import XCTest

final class ExecutionPlanTests: XCTestCase {
    /// No two tensors that are live at the same time may overlap in the arena.
    func testLiveTensorsNeverOverlap() throws {
        for name in RANetConfig.presetNames {
            let network = try NetworkDescription(config: try RANetConfig.preset(named: name))
            let plan = ExecutionPlan(network: network)
            var first = [Int](repeating: Int.max, count: network.tensors.count), last = [Int](repeating: Int.min, count: network.tensors.count)
            for (i, layer) in network.layers.enumerated() {
                for t in [layer.input.tensor, layer.output.tensor] { first[t] = min(first[t], i); last[t] = max(last[t], i) }
            }
            first[network.inputTensor] = -1
            last[network.logitsTensor] = network.layers.count
            for a in 0..<network.tensors.count {
                XCTAssertLessThanOrEqual(plan.tensorOffsets[a] + network.tensors[a].elementCount, plan.arenaFloats, name)
                for b in (a + 1)..<network.tensors.count where first[a] <= last[b] && first[b] <= last[a] {
                    let ra = plan.tensorOffsets[a]..<(plan.tensorOffsets[a] + network.tensors[a].elementCount)
                    let rb = plan.tensorOffsets[b]..<(plan.tensorOffsets[b] + network.tensors[b].elementCount)
                    XCTAssertFalse(ra.overlaps(rb), "\(name): tensors \(a) and \(b) overlap while both live")
                }
            }
            XCTAssertLessThan(plan.arenaFloats, plan.unsharedFloats, name)
        }
    }

    /// Dense layers write their new channels right after their input inside one tensor:
    /// concatenation is free.
    func testDenseLayersAppendInPlace() throws {
        let network = try NetworkDescription(config: try RANetConfig.preset(named: "cifar-c1"))
        let layer = network.layers.first { if case .conv(let u) = $0.operation { return u.convKey == "scale_flows.0.0.layers.1.conv_normal.net.3" }; return false }!
        let state = network.layers.first { if case .conv(let u) = $0.operation { return u.convKey == "scale_flows.0.0.layers.1.conv_normal.net.0" }; return false }!
        XCTAssertEqual(layer.output.tensor, state.input.tensor)
        XCTAssertEqual(layer.output.offset, state.input.channels)
        XCTAssertEqual(state.input.offset, 0)
    }
}
