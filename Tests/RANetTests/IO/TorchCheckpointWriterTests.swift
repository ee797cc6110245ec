import Foundation
@testable import RANet
import XCTest

/// Checkpoints in the authors' format: what the project writes reads back, in their order.
final class TorchCheckpointWriterTests: XCTestCase {
    /// The state_dict keys of a torch file, in the pickle's order.
    static func keyOrder(_ url: URL) throws -> [String] {
        let archive = try ZipArchive(data: try Data(contentsOf: url), path: url.path)
        let entry = archive.entries.values.first { $0.name.hasSuffix("/data.pkl") }!
        guard case .dict(let top) = try PickleReader(path: url.path).read(archive.contents(of: entry)),
              case .dict(let state)? = top["state_dict"] else { throw ShapeError("no state_dict") }
        return state.entries.compactMap { if case .string(let k) = $0.key { return k }; return nil }
    }

    func testRoundTripInTheAuthorsKeyOrder() throws {
        let folder = try TestData.sharedItem("reference/training/tiny-c3")
        let reference = folder.appendingPathComponent("after_step1.pth.tar")
        let theirs = try TorchCheckpoint.readContents(contentsOf: reference)
        let network = try NetworkDescription(config: try TrainingTestData.tinyConfig())
        let out = try TestData.temporaryFolder().appendingPathComponent("copy.pth.tar")
        try TorchCheckpoint.write(theirs, network: network, optimizer: SGD(), learningRate: 0.1, to: out)
        let ours = try TorchCheckpoint.readContents(contentsOf: out)
        XCTAssertEqual(try Self.keyOrder(out), try Self.keyOrder(reference))
        for (key, tensor) in theirs.stateDict.tensors { XCTAssertTrue(ours.stateDict.tensors[key]?.values == tensor.values, key) }
        XCTAssertTrue(ours.momentumBuffers == theirs.momentumBuffers)
        XCTAssertEqual(ours.batchesTracked, theirs.batchesTracked)
        XCTAssertEqual(ours.epoch, theirs.epoch)
        XCTAssertEqual(ours.bestPrecision, theirs.bestPrecision)
    }

    func testIndicesRoundTripAndTheAuthorsIndexFile() throws {
        let out = try TestData.temporaryFolder().appendingPathComponent("index.pth")
        try TorchCheckpoint.writeIndices([3, 0, 2, 1, 70_000], to: out)
        XCTAssertEqual(try TorchCheckpoint.readIndices(contentsOf: out), [3, 0, 2, 1, 70_000])
        let theirs = try TorchCheckpoint.readIndices(contentsOf: TestData.sharedItem("models/fashion-mnist/index.pth"))
        XCTAssertEqual(theirs.count, 60_000)
        XCTAssertEqual(Set(theirs).count, 60_000)
    }
}
