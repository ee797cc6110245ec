import Foundation
import RANet
import XCTest

/// Parameter totals, exit counts and the authors' op_counter figures for every preset,
/// without weights, against `specs.json`.
final class OperationCountTests: XCTestCase {
    func testEveryPresetMatchesSpecs() throws {
        let specs = try JSONValue.parse(Data(contentsOf: TestData.fixtures.appendingPathComponent("specs.json")))
        guard case .object(let entries) = specs else { return XCTFail("specs.json is not an object") }
        XCTAssertEqual(Set(entries.keys), Set(RANetConfig.presetNames))
        for (name, entry) in entries {
            let preset = try RANetConfig.preset(named: name)
            let fromJSON = try RANetConfig.parseJSON(Data(entry["config"]!.description.utf8))
            XCTAssertEqual(preset, fromJSON, name)
            let network = try NetworkDescription(config: preset)
            let count = OperationCount(network)
            XCTAssertEqual(network.exitCount, entry["exits"]?.intValue, name)
            XCTAssertEqual(count.paramsTotal, entry["params_total"]?.intValue, name)
            guard case .array(let ops) = entry["op_counter_ops_per_exit"],
                  case .array(let params) = entry["op_counter_params_per_exit"] else { return XCTFail(name) }
            XCTAssertEqual(count.opsPerExit, ops.compactMap(\.doubleValue), name)
            XCTAssertEqual(count.paramsPerExit, params.compactMap(\.intValue), name)
        }
    }

    func testReferenceModelsMatchTheirMeta() throws {
        let models = try TestData.sharedItem("reference/models")
        for name in try FileManager.default.contentsOfDirectory(atPath: models.path).sorted() {
            let folder = models.appendingPathComponent(name)
            let meta = try JSONValue.parse(Data(contentsOf: folder.appendingPathComponent("meta.json")))
            let config = try RANetConfig.load(contentsOf: folder.appendingPathComponent("args.txt"))
            let count = OperationCount(try NetworkDescription(config: config))
            XCTAssertEqual(count.paramsTotal, meta["params_total"]?.intValue, name)
            guard case .array(let ops) = meta["op_counter_ops_per_exit"] else { return XCTFail(name) }
            XCTAssertEqual(count.opsPerExit, ops.compactMap(\.doubleValue), name)
        }
    }
}
