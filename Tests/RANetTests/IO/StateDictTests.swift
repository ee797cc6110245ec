import Foundation
import RANet
import XCTest

final class StateDictTests: XCTestCase {
    private func network() throws -> NetworkDescription {
        try NetworkDescription(config: RANetConfig(data: .cifar10, nChannels: 4, growthRate: 4, step: 2, stepMode: .even,
                                                   scaleList: [1, 2, 3], grFactor: [2, 1, 1], bnFactor: [2, 1, 1]))
    }

    private func complete(_ network: NetworkDescription) -> StateDict {
        StateDict(tensors: Dictionary(uniqueKeysWithValues: network.parameters.map {
            ($0.key, StoredTensor(shape: $0.shape, values: [Float](repeating: 0.5, count: $0.elementCount)))
        }))
    }

    func testMissingKey() throws {
        let network = try network()
        var stateDict = complete(network)
        stateDict.tensors["classifier.0.linear.bias"] = nil
        XCTAssertThrowsMessage(try stateDict.validate(for: network), contains: "missing key 'classifier.0.linear.bias'")
    }

    func testUnexpectedKey() throws {
        let network = try network()
        var stateDict = complete(network)
        stateDict.tensors["classifier.9.linear.bias"] = StoredTensor(shape: [10], values: [Float](repeating: 0, count: 10))
        stateDict.tensors["classifier.0.m.0.net.1.num_batches_tracked"] = StoredTensor(dtype: .int64, shape: [], values: [])
        XCTAssertThrowsMessage(try stateDict.validate(for: network), contains: "unexpected key 'classifier.9.linear.bias'")
    }

    func testWrongShapeNamesBothShapes() throws {
        let network = try network()
        var stateDict = complete(network)
        stateDict.tensors["classifier.0.linear.weight"] = StoredTensor(shape: [10, 64], values: [Float](repeating: 0, count: 640))
        XCTAssertThrowsMessage(try stateDict.validate(for: network), contains: "classifier.0.linear.weight", "[10, 64]", "[10, 128]")
    }

    func testWrongDType() throws {
        let network = try network()
        var stateDict = complete(network)
        stateDict.tensors["classifier.0.linear.bias"] = StoredTensor(dtype: .float64, shape: [10], values: [])
        XCTAssertThrowsMessage(try stateDict.validate(for: network), contains: "classifier.0.linear.bias", "F64")
    }
}
