import Foundation
import RANet
import XCTest

/// `ranet convert --output model.onnx`: ONNX Runtime and OpenVINO run the exported
/// reference models to the authors' logits (scripts/check_onnx_export.py; `make test`
/// installs both runtimes from PyPI).
final class OnnxExportTests: XCTestCase, CommandLineTesting {
    private var script: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/check_onnx_export.py")
    }

    private func python(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testRuntimesReproduceTheReferenceLogits() throws {
        guard try python(["-c", "import onnxruntime"]).status == 0 else {
            throw XCTSkip("onnxruntime is not installed for python3 (make test installs it)")
        }
        let models = try TestData.sharedItem("reference/models")
        let folder = try TestData.temporaryFolder()
        var arguments = [script.path]
        for name in try FileManager.default.contentsOfDirectory(atPath: models.path).sorted() {
            let onnx = folder.appendingPathComponent(name + ".onnx")
            let run = try ranet("convert", "--model", models.appendingPathComponent(name).path, "--output", onnx.path)
            XCTAssertEqual(run.status, 0, run.stderr)
            XCTAssertTrue(run.stdout.contains("ONNX opset 13"), run.stdout)
            arguments += [onnx.path, models.appendingPathComponent(name).path]
        }
        let check = try python(arguments)
        XCTAssertEqual(check.status, 0, check.output)
        XCTAssertEqual(check.output.components(separatedBy: "ok   onnxruntime").count - 1, arguments.count / 2, check.output)
        print(check.output)
    }

    /// A preset exports with random weights; the file is a protobuf that starts with its IR version.
    func testPresetsExportAndBadRequestsFail() throws {
        let file = try TestData.temporaryFolder().appendingPathComponent("c1.onnx")
        XCTAssertEqual(try ranet("convert", "--preset", "cifar-c1", "--output", file.path).status, 0)
        let data = try Data(contentsOf: file)
        XCTAssertEqual(Array(data.prefix(2)), [0x08, 0x08], "ir_version 8 first")
        XCTAssertGreaterThan(data.count, 4 * 2_400_000, "every weight is in the file")
        assertFails(try ranet("convert", "--preset", "cifar-c1", "--output", file.deletingPathExtension().appendingPathExtension("txt").path),
                    mentioning: "--output", usage: true)
        assertFails(try ranet("convert", "--preset", "cifar-c9", "--output", file.path), mentioning: "cifar-c9")
        assertFails(try ranet("convert", "--preset", "cifar-c1", "--model", "x", "--output", file.path), mentioning: "--preset", usage: true)
    }
}
