import Foundation
import RANet
import XCTest

/// Configs the network cannot have are refused, naming the field, before any allocation.
final class ConfigValidationTests: XCTestCase {
    private func base() -> RANetConfig { try! RANetConfig.preset(named: "cifar-c1") }

    private func assertRejected(_ change: (inout RANetConfig) -> Void, field: String, _ fragment: String = "",
                                file: StaticString = #filePath, line: UInt = #line) {
        var config = base()
        change(&config)
        XCTAssertThrowsMessage(try NetworkDescription(config: config), contains: "\(field):", fragment, file: file, line: line)
    }

    func testFusionBlockWithOneLayer() {
        assertRejected({ $0.step = 1 }, field: "step", "at least 2")
        assertRejected({ $0.step = 1; $0.stepMode = .lg }, field: "step", "fusion block 1")
    }

    func testScaleList() {
        assertRejected({ $0.scaleList = [1, 1, 2] }, field: "scale_list", "repeats its first entry")
        assertRejected({ $0.scaleList = [1, 3, 2] }, field: "scale_list", "non-decreasing")
        assertRejected({ $0.scaleList = []; $0.grFactor = []; $0.bnFactor = [] }, field: "scale_list")
    }

    func testListLengths() {
        assertRejected({ $0.grFactor = [4, 2] }, field: "grFactor", "2 entries but scale_list has 3")
        assertRejected({ $0.bnFactor = [4, 2, 1, 1] }, field: "bnFactor", "4 entries")
    }

    func testZeroChannelLayers() {
        assertRejected({ $0.growthRate = 1; $0.grFactor = [1, 1, 1] }, field: "compress_factor", "at least 1")
        assertRejected({ $0.compressFactor = 0.9; $0.growthRate = 1; $0.grFactor = [1, 1, 1] }, field: "compress_factor")
        assertRejected({ $0.growthRate = 0 }, field: "growthRate")
        assertRejected({ $0.nChannels = 0 }, field: "nChannels")
        assertRejected({ $0.reduction = 0.001 }, field: "reduction", "0 channels")
        assertRejected({ $0.compressFactor = 0 }, field: "compress_factor")
    }

    func testInputSizeTheExitsCannotTake() {
        assertRejected({ $0.inputSize = 64 }, field: "input_size", "1×1")
        assertRejected({ $0.inputSize = 2 }, field: "input_size")
        assertRejected({ $0.inputSize = 100_000 }, field: "input_size")
    }

    func testUnknownDataKindAndOtherFields() {
        let json = #"{"data": "svhn", "nChannels": 16, "growthRate": 6, "step": 4, "stepmode": "even", "scale_list": [1, 2, 3], "grFactor": [4, 2, 1], "bnFactor": [4, 2, 1], "nBlocks": 2, "block_step": 2, "compress_factor": 0.25, "reduction": 0.5}"#
        XCTAssertThrowsMessage(try RANetConfig.parseJSON(Data(json.utf8)), contains: "data:", "unknown data kind 'svhn'")
        XCTAssertThrowsMessage(try RANetConfig.parseJSON(Data(json.replacingOccurrences(of: "svhn", with: "cifar10").replacingOccurrences(of: "\"even\"", with: "\"odd\"").utf8)), contains: "stepmode:")
        XCTAssertThrowsMessage(try RANetConfig.parseJSON(Data(json.replacingOccurrences(of: "\"svhn\"", with: "\"cifar10\", \"num_classes\": 7").utf8)), contains: "num_classes:")
    }

    func testHugeConfigsAreRefusedNotAllocated() {
        assertRejected({ $0.nChannels = 1_000_000 }, field: "nChannels")
        assertRejected({ $0.step = 10_000 }, field: "step")
        assertRejected({ $0.blockStep = 1_000 }, field: "block_step")
    }

    func testUnusualButValidConfigsBuild() throws {
        var config = base()
        config.scaleList = [1, 2, 2, 3]
        config.grFactor = [4, 2, 2, 1]
        config.bnFactor = [4, 2, 2, 1]
        config.nBlocks = 3
        config.blockStep = 1
        config.stepMode = .lg
        config.step = 2
        XCTAssertEqual(try NetworkDescription(config: config).exitCount, 6)
    }
}
