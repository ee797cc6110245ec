import Foundation
import RANet
import XCTest

final class RANetModelTests: XCTestCase {
    private func tinyModel(threads: Int = 2) throws -> (RANetModel, Tensor, Tensor) {
        let folder = try TestData.sharedItem("reference/models/tiny-c3")
        let model = try RANetModel.load(from: folder, options: RANetModel.Options(threads: threads))
        return (model, try NpyFile.readFloat32(contentsOf: folder.appendingPathComponent("input.npy")),
                try NpyFile.readFloat32(contentsOf: folder.appendingPathComponent("exits.npy")))
    }

    func testWrongInputShape() throws {
        let model = try RANetModel.bundled()
        XCTAssertThrowsMessage(try model.logits(for: Tensor(zeros: [2, 3, 28, 28])), contains: "[2, 3, 28, 28]", "N×3×32×32")
        XCTAssertThrowsMessage(try model.logits(for: Tensor(zeros: [3, 32, 32])), contains: "[3, 32, 32]")
        XCTAssertThrowsMessage(try model.logits(for: Tensor(zeros: [1, 1, 32, 32])), contains: "N×3×32×32")
    }

    func testEmptyBatch() throws {
        let model = try RANetModel.bundled()
        XCTAssertEqual(try model.logits(for: Tensor(zeros: [0, 3, 32, 32])).shape, [6, 0, 10])
    }

    /// Images are independent: each batch size and thread count gives the same logits.
    func testBatchAndThreadsDoNotChangeResults() throws {
        let (model, input, expected) = try tinyModel(threads: 1)
        let single = try model.logits(for: input)
        ParityTests.assertParity(single, expected, "1 thread")
        let (parallel, _, _) = try tinyModel(threads: 3)
        XCTAssertEqual(try parallel.logits(for: input), single)
        let image = try Tensor(shape: [1, 3, 32, 32], values: Array(input.values[(3 * 32 * 32)..<(2 * 3 * 32 * 32)]))
        let one = try model.logits(for: image)
        for k in 0..<model.exitCount {
            XCTAssertEqual(Array(one.values[(k * 10)..<(k * 10 + 10)]), Array(single.values[((k * 3 + 1) * 10)..<((k * 3 + 1) * 10 + 10)]))
        }
    }

    /// Eight tasks running one model at once give exactly what it gives alone.
    func testConcurrentCallsAgreeWithSerial() async throws {
        let (model, input, _) = try tinyModel(threads: 2)
        let serial = try model.logits(for: input)
        let results = try await withThrowingTaskGroup(of: Tensor.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var last = Tensor(zeros: [])
                    for _ in 0..<5 { last = try model.logits(for: input) }
                    return last
                }
            }
            return try await group.reduce(into: [Tensor]()) { $0.append($1) }
        }
        XCTAssertEqual(results.count, 8)
        for result in results { XCTAssertEqual(result, serial) }
    }

    /// Resident memory stays flat over many concurrent calls once contexts exist.
    func testMemoryDoesNotGrowUnderConcurrentUse() async throws {
        if ProcessInfo.processInfo.environment["ASAN_OPTIONS"] != nil {
            throw XCTSkip("AddressSanitizer's quarantine holds freed memory on purpose")
        }
        let (model, input, _) = try tinyModel(threads: 2)
        func round() async throws {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 { group.addTask { _ = try model.logits(for: input) } }
                try await group.waitForAll()
            }
        }
        for _ in 0..<5 { try await round() }  // warm-up: contexts, oneDNN caches
        let before = Self.residentBytes()
        for _ in 0..<40 { try await round() }
        let growth = Self.residentBytes() - before
        XCTAssertLessThan(growth, 32 << 20, "resident memory grew by \(growth >> 20) MB over 320 calls")
    }

    private static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
              let pages = text.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
