import Foundation
import RANet
import XCTest

final class ConfigParsingTests: XCTestCase {
    func testReadsTheAuthorsArgsLine() throws {
        let line = "Namespace(save='save/run', resume=None, evalmode=None, evaluate_from='', print_freq=10, seed=0, gpu='0', data='cifar10', data_root='/data/cx/data', use_valid=False, workers=4, arch='RANet', reduction=0.5, nBlocks=2, nChannels=16, growthRate=6, grFactor=[4, 2, 1], bnFactor=[4, 2, 1], block_step=2, scale_list=[1, 2, 3], compress_factor=0.25, step=4, stepmode='even', bnAfter=True, epochs=300, start_epoch=0, batch_size=64, optimizer='sgd', lr=0.1, lr_type='multistep', decay_rate=0.1, momentum=0.9, weight_decay=0.0001, nScales=3, splits=['train', 'val'], num_classes=10, num_exits=6)\n"
        XCTAssertEqual(try RANetConfig.parseArgs(line), try RANetConfig.preset(named: "cifar-c1"))
    }

    func testJSONRoundTrip() throws {
        for name in RANetConfig.presetNames {
            let config = try RANetConfig.preset(named: name)
            XCTAssertEqual(try RANetConfig.parseJSON(Data(config.jsonValue.description.utf8)), config, name)
        }
    }

    func testCommandLineStyleLists() throws {
        let json = #"{"data": "ImageNet", "nChannels": 32, "growthRate": 16, "step": 8, "stepmode": "even", "scale_list": "1-2-3-4", "grFactor": "4-2-2-1", "bnFactor": "4-2-2-1", "nBlocks": 2, "block_step": 2, "compress_factor": 0.25, "reduction": 0.5}"#
        XCTAssertEqual(try RANetConfig.parseJSON(Data(json.utf8)), try RANetConfig.preset(named: "imagenet-1"))
    }

    func testMalformedFiles() {
        XCTAssertThrowsMessage(try RANetConfig.parseArgs("Namespace(data='cifar10', step=4"), contains: "args.txt")
        XCTAssertThrowsMessage(try RANetConfig.parseArgs("print('hello')"), contains: "Namespace")
        XCTAssertThrowsMessage(try RANetConfig.parseArgs("Namespace(data=__import__('os'))"), contains: "__import__")
        XCTAssertThrowsMessage(try RANetConfig.parseJSON(Data("{\"data\": ".utf8)), contains: "not valid JSON")
        XCTAssertThrowsMessage(try RANetConfig.parseJSON(Data("[1, 2]".utf8)), contains: "object")
        XCTAssertThrowsMessage(try RANetConfig.parseJSON(Data(#"{"data": "cifar10"}"#.utf8)), contains: "missing")
    }

    func testLoadsFilesByContent() throws {
        let folder = try TestData.temporaryFolder()
        let json = folder.appendingPathComponent("config.json"), args = folder.appendingPathComponent("args.txt")
        let config = try RANetConfig.preset(named: "cifar-lg")
        try config.jsonValue.prettyDescription.write(to: json, atomically: true, encoding: .utf8)
        XCTAssertEqual(try RANetConfig.load(contentsOf: json), config)
        try "Namespace(data='cifar10', nChannels=16, growthRate=6, step=2, stepmode='lg', scale_list=[1, 2, 3], grFactor=[4, 2, 1], bnFactor=[4, 2, 1], nBlocks=2, block_step=2, compress_factor=0.25, reduction=0.5)"
            .write(to: args, atomically: true, encoding: .utf8)
        XCTAssertEqual(try RANetConfig.load(contentsOf: args), config)
        XCTAssertThrowsMessage(try RANetConfig.load(contentsOf: folder.appendingPathComponent("absent.txt")), contains: "no such")
    }
}
