import Foundation
@testable import RANet
import XCTest

final class FileBytesTests: XCTestCase {
    /// Floats at an offset no multiple of 4, spanning many pages: read twice (the first
    /// read gives its pages back), the same values both times.
    func testValuesAtAnyOffsetSurviveGivingPagesBack() throws {
        let values = (0..<100_000).map { Float($0) * 0.25 - 7 }
        var bytes = Data([1, 2, 3])
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
        let url = try TestData.temporaryFolder().appendingPathComponent("floats.bin")
        try bytes.write(to: url)
        let file = try FileBytes(contentsOf: url, what: "test")
        XCTAssertEqual(file.floats(at: 3, count: values.count), values)
        XCTAssertEqual(file.floats(at: 3, count: values.count), values)
        XCTAssertEqual(FileBytes(bytes).floats(at: 3 + 4 * 10, count: 5), Array(values[10..<15]))
    }

    /// A model's tensors stay views of the file they were read from: replacing that file
    /// (by rename, as every writer here does) leaves them as they were.
    func testTensorsOutliveTheFileBeingReplaced() throws {
        let contents = try ModelFile.read(from: try TestData.sharedItem("reference/models/tiny-c3"))
        let url = try TestData.temporaryFolder().appendingPathComponent("model.safetensors")
        try ModelFile.write(contents, to: url)
        let loaded = try ModelFile.read(from: url)
        var other = contents
        for key in other.stateDict.tensors.keys where other.stateDict.tensors[key]!.dtype == .float32 {
            let t = other.stateDict.tensors[key]!
            other.stateDict.tensors[key] = StoredTensor(shape: t.shape, values: t.values.map { $0 + 1 })
        }
        try ModelFile.write(other, to: url)
        for (key, tensor) in contents.stateDict.tensors where tensor.dtype == .float32 {
            XCTAssertEqual(loaded.stateDict.tensors[key]?.values, tensor.values, key)
        }
        XCTAssertEqual(try ModelFile.read(from: url).stateDict.tensors["classifier.0.linear.bias"]?.values,
                       contents.stateDict.tensors["classifier.0.linear.bias"]!.values.map { $0 + 1 })
    }

    func testEmptyFileIsNotAModel() throws {
        let url = try TestData.temporaryFolder().appendingPathComponent("empty.safetensors")
        try Data().write(to: url)
        XCTAssertThrowsMessage(try ModelFile.read(from: url), contains: "empty.safetensors", "too short")
    }
}
