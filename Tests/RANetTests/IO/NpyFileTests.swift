import Foundation
import RANet
import XCTest

final class NpyFileTests: XCTestCase {
    func testFloat32AndInt64RoundTrip() throws {
        let folder = try TestData.temporaryFolder()
        let tensor = try Tensor(shape: [2, 3], values: [1, -2, 3.5, 4, 5, 6])
        try NpyFile.write(tensor, to: folder.appendingPathComponent("f.npy"))
        XCTAssertEqual(try NpyFile.readFloat32(contentsOf: folder.appendingPathComponent("f.npy")), tensor)
        try NpyFile.write(int64: [7, -1, 9], shape: [3], to: folder.appendingPathComponent("i.npy"))
        guard case .int64(let shape, let values) = try NpyFile.read(contentsOf: folder.appendingPathComponent("i.npy")) else {
            return XCTFail("expected int64")
        }
        XCTAssertEqual(shape, [3])
        XCTAssertEqual(values, [7, -1, 9])
    }

    func testReadsNumpyFiles() throws {
        let input = try NpyFile.readFloat32(contentsOf: try TestData.sharedItem("reference/models/tiny-c3/input.npy"))
        XCTAssertEqual(input.shape, [3, 3, 32, 32])
        guard case .int64(let shape, _) = try NpyFile.read(contentsOf: try TestData.sharedItem("models/fashion-mnist/val_indices.npy")) else {
            return XCTFail("expected int64")
        }
        XCTAssertEqual(shape, [5000])
    }

    private func npy(descr: String, fortran: Bool = false, shape: String, payload: Int) -> Data {
        let header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }\n"
        var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(header.utf8.count), 0])
        data.append(contentsOf: Array(header.utf8))
        data.append(Data(count: payload))
        return data
    }

    private func read(_ data: Data) throws -> NpyArray {
        let url = try TestData.temporaryFolder().appendingPathComponent("x.npy")
        try data.write(to: url)
        return try NpyFile.read(contentsOf: url)
    }

    func testRejectsWhatItCannotRead() throws {
        XCTAssertThrowsMessage(try read(npy(descr: "<f2", shape: "(2,)", payload: 4)), contains: "'<f2' is not supported")
        guard case .float64(let shape, let values) = try read(npy(descr: "<f8", shape: "(2,)", payload: 16)) else {
            return XCTFail("float64 is read")
        }
        XCTAssertEqual(shape, [2])
        XCTAssertEqual(values, [0, 0])
        XCTAssertThrowsMessage(try read(npy(descr: ">f4", shape: "(2,)", payload: 8)), contains: "'>f4'")
        XCTAssertThrowsMessage(try read(npy(descr: "<f4", fortran: true, shape: "(2, 2)", payload: 16)), contains: "Fortran")
        XCTAssertThrowsMessage(try read(npy(descr: "<f4", shape: "(2, 2)", payload: 15)), contains: "truncated")
        XCTAssertThrowsMessage(try read(npy(descr: "<f4", shape: "(4294967296, 4294967296)", payload: 0)), contains: "too large")
        XCTAssertThrowsMessage(try read(Data("not numpy at all".utf8)), contains: "not a .npy file")
        XCTAssertThrowsMessage(try read(npy(descr: "<f4", shape: "oops", payload: 0)), contains: "malformed")
        let url = try TestData.temporaryFolder().appendingPathComponent("i.npy")
        try NpyFile.write(int64: [1], shape: [1], to: url)
        XCTAssertThrowsMessage(try NpyFile.readFloat32(contentsOf: url), contains: "int64", "float32 is needed")
    }
}
