import Foundation
import RANet
import XCTest

/// `ranet serve` as users run it: tritonclient.http drives it from a second process on
/// loopback (scripts/check_serve_protocol.py: health, metadata, config, inference in binary
/// and JSON with tensors and encoded images, results equal to `ranet predict`, bad requests,
/// a full queue, a passed deadline, /metrics and the SIGTERM drain). `make test` installs
/// tritonclient from PyPI.
final class ServeCommandTests: XCTestCase, CommandLineTesting {
    private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    func testTritonClientDrivesTheServer() throws {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import tritonclient.http, numpy"]
        probe.standardError = Pipe()
        try probe.run()
        probe.waitUntilExit()
        guard probe.terminationStatus == 0 else { throw XCTSkip("tritonclient[http] is not installed for python3 (make test installs it)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", root.appendingPathComponent("scripts/check_serve_protocol.py").path, "--ranet", try ranetBinary.path]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        print(output)
        XCTAssertEqual(process.terminationStatus, 0, output)
        XCTAssertTrue(output.contains(" passed, 0 failed"), output)
    }

    func testBadOptions() throws {
        assertFails(try ranet("serve", "--latency-target", "50"), mentioning: "--calibration-data", usage: true)
        assertFails(try ranet("serve", "--thresholds", "t.json", "--calibration-data", "d", "--latency-target", "5"), mentioning: "either", usage: true)
        assertFails(try ranet("serve", "--port", "70000"), mentioning: "--port", usage: true)
        assertFails(try ranet("serve", "--max-batch", "0"), mentioning: "--max-batch", usage: true)
        assertFails(try ranet("serve", "--thresholds", "/nonexistent/t.json", "--port", "0"), mentioning: "/nonexistent/t.json")
    }
}
