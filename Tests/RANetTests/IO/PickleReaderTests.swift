import Foundation
@testable import RANet
import XCTest

/// The pickle reader on hostile input: each case once crashed it under the fuzzer.
final class PickleReaderTests: XCTestCase {
    private func read(_ bytes: [UInt8]) throws -> PickleValue {
        try PickleReader(path: "fuzz.pkl").read(Data(bytes))
    }

    private func little(_ v: Int64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }

    private func text(_ s: String) -> [UInt8] { [0x8C, UInt8(s.utf8.count)] + Array(s.utf8) }

    /// A length near Int.max must read as truncated, not overflow the reader's position.
    func testHugeLengthIsTruncated() {
        XCTAssertThrowsMessage(try read([0x80, 0x02, 0x8D] + little(.max) + Array("abc".utf8) + [0x2E]), contains: "truncated")
    }

    /// Tens of thousands of nested tuples: refused at the limit instead of overflowing the
    /// stack when released.
    func testDeepNestingIsRefused() {
        let deep = [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x85, count: 60_000) + [0x2E]
        XCTAssertThrowsMessage(try read(deep), contains: "nest deeper than \(PickleReader.maxDepth) levels")
        let lists = [0x80, 0x02] + [UInt8](repeating: 0x5D, count: 40) + [UInt8](repeating: 0x61, count: 39) + [0x2E]
        XCTAssertThrowsMessage(try read(lists), contains: "nest deeper")
        let allowed = [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x85, count: PickleReader.maxDepth) + [0x2E]
        XCTAssertNoThrow(try read(allowed))
    }

    /// A list appended to itself (DUP, APPEND) would be a cycle; a list changed after it
    /// was placed in another could hide its depth.
    func testCyclesAndLateChangesAreRefused() {
        XCTAssertThrowsMessage(try read([0x80, 0x02, 0x5D, 0x32, 0x61, 0x2E]), contains: "after placing it")
        // [] q0 ] (placed in a tuple) h0 N a: the first list, now inside the tuple, grows.
        let late: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00, 0x85, 0x68, 0x00, 0x4E, 0x61, 0x30, 0x2E]
        XCTAssertThrowsMessage(try read(late), contains: "after placing it")
    }

    /// A tensor view whose offset is near Int.max: its last element's index overflows.
    func testViewOffsetOverflowIsRefused() {
        var p: [UInt8] = [0x80, 0x02]
        p += [0x63] + Array("torch._utils\n_rebuild_tensor_v2\n".utf8)
        p += [0x28]  // MARK: the arguments
        p += [0x28] + text("storage") + [0x63] + Array("torch\nFloatStorage\n".utf8) + text("0") + text("cpu") + [0x4B, 4, 0x74, 0x51]
        p += [0x8A, 8] + little(.max)  // offset
        p += [0x4B, 2, 0x85, 0x4B, 1, 0x85]  // size (2,), stride (1,)
        p += [0x89, 0x74, 0x52, 0x2E]  // requires_grad, TUPLE, REDUCE, STOP
        XCTAssertThrowsMessage(try read(p), contains: "tensor strides overflow")
    }
}
