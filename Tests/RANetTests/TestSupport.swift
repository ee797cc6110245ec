import Foundation
import RANet
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
    /// Every lane width this CPU runs, widest first, and 1 (every image alone), within
    /// `RANET_MAX_LANES` when set: `make test-widths` reruns the inference tests under
    /// each cap, so a machine with AVX-512 also runs what narrower CPUs run.
    static var laneWidths: [Int] {
        [16, 8, 4].filter { $0 <= RANetModel.Options.defaultLanes && RANetModel.supportsLanes($0) } + [1]
    }

    /// A reference model of the shared material: its run folder, input and the authors'
    /// logits of every exit.
    struct ReferenceModel {
        let name: String
        let folder: URL
        let input: Tensor
        let expected: Tensor
    }

    static func referenceModel(_ name: String) throws -> ReferenceModel {
        let folder = try sharedItem("reference/models/" + name)
        return ReferenceModel(name: name, folder: folder,
                              input: try NpyFile.readFloat32(contentsOf: folder.appendingPathComponent("input.npy")),
                              expected: try NpyFile.readFloat32(contentsOf: folder.appendingPathComponent("exits.npy")))
    }

    /// Every reference model, by name.
    static func referenceModels() throws -> [ReferenceModel] {
        let models = try sharedItem("reference/models")
        return try FileManager.default.contentsOfDirectory(atPath: models.path).sorted().map(referenceModel)
    }

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

/// Runs the `ranet` executable built next to the tests.
protocol CommandLineTesting {}

struct CommandRun {
    let status: Int32
    let stdout: String
    let stderr: String
}

extension CommandLineTesting {
    func ranet(_ arguments: String...) throws -> CommandRun { try withArguments(arguments) }

    /// Runs `ranet` with these arguments, and these variables added to the environment.
    /// The `ranet` binary built beside the tests.
    var ranetBinary: URL {
        get throws {
            // The test bundle sits in the build products folder (Linux) or inside it (macOS).
            let bundle = Bundle(for: BundleMarker.self).bundleURL
            let candidates = [bundle, bundle.deletingLastPathComponent()].map { $0.appendingPathComponent("ranet") }
            guard let binary = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
                XCTFail("ranet is not built next to the tests (\(bundle.path))")
                throw CocoaError(.fileNoSuchFile)
            }
            return binary
        }
    }

    func withArguments(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandRun {
        let process = Process()
        process.executableURL = try ranetBinary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CommandRun(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                          stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// A failed run: non-zero status and one line on standard error naming the problem
    /// (a usage mistake also gets the usage line and a pointer to --help).
    func assertFails(_ run: CommandRun, mentioning fragments: String..., usage: Bool = false, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNotEqual(run.status, 0, file: file, line: line)
        let message = run.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        if usage {
            XCTAssertTrue(message.contains("Usage:"), message, file: file, line: line)
        } else {
            XCTAssertEqual(message.split(separator: "\n").count, 1, "one line: \(message)", file: file, line: line)
        }
        for fragment in fragments { XCTAssertTrue(message.contains(fragment), "'\(message)' lacks '\(fragment)'", file: file, line: line) }
    }
}

private final class BundleMarker {}
