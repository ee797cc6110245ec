import Foundation
import RANet
import XCTest

/// The protocol's codec alone: requests parsed from JSON and binary bodies, responses
/// encoded back, and every malformed request refused with a message naming the problem.
final class OpenInferenceProtocolTests: XCTestCase {
    private func inference() throws -> OpenInferenceProtocol {
        OpenInferenceProtocol(modelName: "m", model: try RANetModel.bundled())
    }

    func testBinaryAndJSONRequestsAgree() throws {
        let codec = try inference()
        let values: [Float] = (0..<(2 * 3 * 32 * 32)).map { Float($0 % 7) / 7 }
        let numbers: String = values.map { "\($0)" }.joined(separator: ",")
        let json = #"{"id":"x","inputs":[{"name":"input","datatype":"FP32","shape":[2,3,32,32],"data":["# + numbers + "]}]}"
        let fromJSON = try codec.parseInfer(body: Data(json.utf8), headerLength: nil)
        let header = Data(#"{"inputs":[{"name":"input","datatype":"FP32","shape":[2,3,32,32],"parameters":{"binary_data_size":24576}}],"parameters":{"binary_data_output":true}}"#.utf8)
        let payload: Data = values.withUnsafeBytes { Data($0) }
        let fromBinary = try codec.parseInfer(body: header + payload, headerLength: header.count)
        guard case .tensor(let a) = fromJSON.images, case .tensor(let b) = fromBinary.images else { return XCTFail("tensors") }
        XCTAssertEqual(a.values, b.values)
        XCTAssertEqual(fromJSON.id, "x")
        XCTAssertTrue(fromJSON.binaryOutputs.isEmpty)
        XCTAssertEqual(fromBinary.binaryOutputs, ["probabilities", "exit", "operations"])
        // Length-prefixed images.
        var bytes = Data()
        for item in [Data([1, 2, 3]), Data()] {
            withUnsafeBytes(of: UInt32(item.count).littleEndian) { bytes.append(contentsOf: $0) }
            bytes.append(item)
        }
        let imageHeader = Data(#"{"inputs":[{"name":"image","datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":11}}]}"#.utf8)
        guard case .encoded(let items) = try codec.parseInfer(body: imageHeader + bytes, headerLength: imageHeader.count).images else {
            return XCTFail("images")
        }
        XCTAssertEqual(items, [Data([1, 2, 3]), Data()])
    }

    func testResponsesInJSONAndBinary() throws {
        let codec = try inference()
        let image = try Tensor(shape: [1, 3, 32, 32], values: [Float](repeating: 0, count: 3072))
        let prediction = try codec.model.classify(image, thresholds: codec.model.defaultThresholds, top: 10)[0]
        let body = Data(#"{"id":"7","inputs":[{"name":"input","datatype":"FP32","shape":[1,3,32,32],"data":[0]}]}"#.utf8)
        XCTAssertThrowsMessage(try codec.parseInfer(body: body, headerLength: nil), contains: "has 1 values", "needs 3072")
        var request = try codec.parseInfer(body: Data(#"{"id":"7","inputs":[{"name":"image","datatype":"BYTES","shape":[1],"data":["AA=="]}],"outputs":[{"name":"exit"},{"name":"probabilities","parameters":{"classification":2}}]}"#.utf8), headerLength: nil)
        let (json, none) = codec.encodeResponse([prediction], for: request)
        XCTAssertNil(none)
        let parsed = try JSONValue.parse(json)
        XCTAssertEqual(parsed["id"], .string("7"))
        guard case .array(let outputs)? = parsed["outputs"], outputs.count == 2 else { return XCTFail("two outputs: \(parsed)") }
        XCTAssertEqual(outputs[0]["data"], .array([.number(Double(prediction.exit + 1))]), "exits count from 1")
        XCTAssertEqual(outputs[1]["shape"], .array([.number(1), .number(2)]))
        request.binaryOutputs = ["exit"]
        let (binary, length) = codec.encodeResponse([prediction], for: request)
        let headerLength = try XCTUnwrap(length)
        XCTAssertEqual(binary.count, headerLength + 4)
        XCTAssertEqual(binary.suffix(4).withUnsafeBytes { $0.loadUnaligned(as: Int32.self) }, Int32(prediction.exit + 1))
    }

    func testMalformedRequests() throws {
        let codec = try inference()
        func refused(_ body: String, _ fragment: String, headerLength: Int? = nil) {
            XCTAssertThrowsMessage(try codec.parseInfer(body: Data(body.utf8), headerLength: headerLength), contains: fragment)
        }
        refused("[", "not valid JSON")
        refused("{}", "no 'inputs'")
        refused(#"{"inputs":[]}"#, "exactly one input")
        refused(#"{"inputs":[{"name":"x","datatype":"FP32","shape":[1]}]}"#, "unknown input 'x'")
        refused(#"{"inputs":[{"name":"input","datatype":"FP32","shape":[-1,3,32,32]}]}"#, "non-negative")
        refused(#"{"inputs":[{"name":"input","datatype":"FP64","shape":[1,3,32,32]}]}"#, "must be FP32")
        refused(#"{"inputs":[{"name":"image","datatype":"BYTES","shape":[1],"data":["%%%"]}]}"#, "base64")
        refused(#"{"inputs":[{"name":"image","datatype":"BYTES","shape":[1],"data":["AA=="]}],"outputs":[{"name":"logits"}]}"#, "unknown output 'logits'")
        let short = #"{"inputs":[{"name":"image","datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":3}}]}"#
        refused(short + "ab", "binary_data_size 3", headerLength: short.utf8.count)
        refused("{}", "does not fit the body", headerLength: 10)
        let header = #"{"inputs":[{"name":"image","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":6}}]}"#
        refused(header + "\u{9}\0\0\0ab", "says 9 bytes", headerLength: header.utf8.count)
    }
}
