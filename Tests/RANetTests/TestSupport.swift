import Foundation
import XCTest

/// Where the tests find their data.
enum TestData {
    /// Small fixtures copied into the repository.
    static var fixtures: URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures")
    }

    /// The shared reference material (authors' checkpoints and outputs), beside the
    /// repository as `../shared`, or wherever `RANET_SHARED` points.
    static var shared: URL {
        if let path = ProcessInfo.processInfo.environment["RANET_SHARED"] { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared")
    }

    /// A file or folder of the shared material; skips the test, saying so, when it is absent.
    static func sharedItem(_ relative: String) throws -> URL {
        let url = shared.appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("shared reference material not found at \(url.path) (set RANET_SHARED)")
        }
        return url
    }

    /// A fresh empty folder for a test's output files.
    static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ranet-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Asserts that `body` throws an error whose description contains every fragment.
func XCTAssertThrowsMessage<T>(_ body: @autoclosure () throws -> T, contains fragments: String...,
                               file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected an error mentioning \(fragments)", file: file, line: line)
    } catch {
        let text = "\(error)"
        for fragment in fragments where !fragment.isEmpty && !text.contains(fragment) {
            XCTFail("error '\(text)' does not mention '\(fragment)'", file: file, line: line)
        }
        XCTAssertFalse(text.contains("\n"), "error message should be one line: \(text)", file: file, line: line)
    }
}
