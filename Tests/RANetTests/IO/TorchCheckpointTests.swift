import Foundation
@testable import RANet
import XCTest

final class TorchCheckpointTests: XCTestCase {
    private func write(_ data: Data, name: String = "model.pth.tar") throws -> URL {
        let url = try TestData.temporaryFolder().appendingPathComponent(name)
        try data.write(to: url)
        return url
    }

    private var sample: CheckpointBuilder {
        CheckpointBuilder(tensors: [("a.weight", [2, 3], [1, 2, 3, 4, 5, 6]), ("b.bias", [4], [7, 8, 9, 10])])
    }

    func testReadsNestedStateDictAndStripsModulePrefix() throws {
        let stateDict = try TorchCheckpoint.readStateDict(contentsOf: try write(sample.archive()))
        XCTAssertEqual(Set(stateDict.tensors.keys), ["a.weight", "b.bias"])
        XCTAssertEqual(stateDict.tensors["a.weight"]?.shape, [2, 3])
        XCTAssertEqual(stateDict.tensors["a.weight"]?.values, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(stateDict.tensors["b.bias"]?.values, [7, 8, 9, 10])
    }

    func testReadsTopLevelStateDict() throws {
        var builder = sample
        builder.nested = false
        XCTAssertEqual(try TorchCheckpoint.readStateDict(contentsOf: try write(builder.archive())).tensors.count, 2)
    }

    func testRefusesForeignGlobal() throws {
        var builder = sample
        builder.dictGlobal = "os\nsystem\n"
        XCTAssertThrowsMessage(try TorchCheckpoint.readStateDict(contentsOf: try write(builder.archive())), contains: "os.system", "refusing")
    }

    func testRefusesUnknownOpcode() throws {
        var pickle = sample.pickle()
        pickle.insert(0x69, at: 2)  // INST: builds arbitrary objects in Python
        let zip = CheckpointBuilder.storedZip([("archive/data.pkl", pickle)])
        XCTAssertThrowsMessage(try TorchCheckpoint.readStateDict(contentsOf: try write(zip)), contains: "unsupported opcode 0x69")
    }

    func testTruncatedArchive() throws {
        let data = sample.archive()
        for length in [0, 3, 30, data.count / 2, data.count - 10] {
            XCTAssertThrowsError(try TorchCheckpoint.readStateDict(contentsOf: try write(data.prefix(length))), "\(length) bytes")
        }
        XCTAssertThrowsMessage(try TorchCheckpoint.readStateDict(contentsOf: try write(data.prefix(data.count - 10))), contains: "model.pth.tar")
    }

    func testTruncatedPickleAndMissingStorage() throws {
        let pickle = sample.pickle()
        let cut = CheckpointBuilder.storedZip([("archive/data.pkl", pickle.prefix(pickle.count / 2))])
        XCTAssertThrowsMessage(try TorchCheckpoint.readStateDict(contentsOf: try write(cut)), contains: "truncated")
        let noStorage = CheckpointBuilder.storedZip([("archive/data.pkl", pickle)])
        XCTAssertThrowsMessage(try TorchCheckpoint.readStateDict(contentsOf: try write(noStorage)), contains: "storage", "missing")
    }

    func testNotACheckpoint() throws {
        XCTAssertThrowsMessage(try TorchCheckpoint.readStateDict(contentsOf: try write(Data("hello, world".utf8))), contains: "not a checkpoint")
        let zipWithoutPickle = CheckpointBuilder.storedZip([("readme.txt", Data("x".utf8))])
        XCTAssertThrowsMessage(try TorchCheckpoint.readStateDict(contentsOf: try write(zipWithoutPickle)), contains: "no data.pkl")
    }

    func testUnreadablePaths() throws {
        let folder = try TestData.temporaryFolder()
        XCTAssertThrowsMessage(try TorchCheckpoint.readStateDict(contentsOf: folder.appendingPathComponent("absent.pth.tar")), contains: "no such")
        XCTAssertThrowsMessage(try TorchCheckpoint.readStateDict(contentsOf: folder), contains: "is a directory")
    }

    func testReadsTheAuthorsCheckpoint() throws {
        let url = try TestData.sharedItem("reference/models/tiny-c3/save_models/model_best.pth.tar")
        let stateDict = try TorchCheckpoint.readStateDict(contentsOf: url)
        let network = try NetworkDescription(config: try RANetConfig.load(contentsOf: url.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("args.txt")))
        XCTAssertNoThrow(try stateDict.validate(for: network))
        XCTAssertEqual(stateDict.tensors["FirstLayer.layers.0.net.0.weight"]?.shape, [4, 3, 3, 3])
    }

    func testStateDictForAnotherConfig() throws {
        let url = try TestData.sharedItem("reference/models/tiny-c3/save_models/model_best.pth.tar")
        let stateDict = try TorchCheckpoint.readStateDict(contentsOf: url)
        let other = try NetworkDescription(config: try RANetConfig.preset(named: "cifar-c1"))
        XCTAssertThrowsMessage(try stateDict.validate(for: other), contains: "FirstLayer.layers.0.net.0.weight", "[4, 3, 3, 3]", "[16, 3, 3, 3]")
    }
}

/// Inputs the fuzzers found, kept so that they stay fixed.
final class FuzzFindingTests: XCTestCase {
    /// A stride-0 view claiming about a billion elements over a tiny storage: refused,
    /// instead of a 4 GB allocation.
    func testStrideZeroViewLargerThanItsStorage() throws {
        let url = TestData.fixtures.appendingPathComponent("fuzz/checkpoint-stride0-view.pth.tar")
        XCTAssertThrowsMessage(try TorchCheckpoint.readStateDict(contentsOf: url), contains: "larger than its storage")
    }
}
