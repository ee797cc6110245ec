import Foundation
@testable import RANet
import XCTest

final class RANetModelTests: XCTestCase {
    private func tinyModel(threads: Int = 2) throws -> (RANetModel, Tensor, Tensor) {
        let reference = try TestData.referenceModel("tiny-c3")
        return (try RANetModel.load(from: reference.folder, options: RANetModel.Options(threads: threads)), reference.input, reference.expected)
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

    /// An image's logits are the same bits whatever the batch it is in, its place there
    /// and the thread count: lane groups (full or partly filled) and images alone (the
    /// row kernels, `.rows`) agree at every width this CPU runs.
    func testBatchAndThreadsDoNotChangeResults() throws {
        let tiny = try TestData.referenceModel("tiny-c3")
        let (folder, input, expected) = (tiny.folder, tiny.input, tiny.expected)
        let n = input.shape[0]
        for lanes in TestData.laneWidths {
            let alone = try RANetModel.load(from: folder, options: RANetModel.Options(threads: 1, lanes: lanes, singleImages: .rows))
            let single = try (0..<n).map { i in
                let (image, _) = try ParityTests.repeated(input, expected, to: i + 1)
                return ParityTests.row(try alone.logits(for: image), image: i)
            }
            for threads in [1, 3] {
                let model = try RANetModel.load(from: folder, options: RANetModel.Options(threads: threads, lanes: lanes, singleImages: .rows))
                for batch in Set([2, n, lanes + 2, 2 * lanes + 1, max(2, lanes * 3 / 8)]).sorted() {
                    let (images, reference) = try ParityTests.repeated(input, expected, to: batch)
                    let logits = try model.logits(for: images)
                    ParityTests.assertParity(logits, reference, "\(lanes) lanes, \(threads) threads, batch \(batch)")
                    for i in 0..<batch {
                        XCTAssertEqual(ParityTests.row(logits, image: i), single[i % n], "\(lanes) lanes, \(threads) threads, image \(i) of \(batch)")
                    }
                }
            }
        }
    }

    /// An image alone on several threads cuts its larger row-kernel layers into parts on
    /// OpenMP's threads: the same bits as on one thread and as in a lane group.
    func testAnImageAloneOnSeveralThreadsKeepsItsBits() throws {
        let cifar = try TestData.referenceModel("cifar-c1")
        let network = try NetworkDescription(config: try RANetConfig.load(contentsOf: cifar.folder.appendingPathComponent("args.txt")))
        let largest = network.layers.map { layer -> Int in
            guard case .conv(let unit) = layer.operation else { return 0 }
            let (c, h, w) = network.shape(of: layer.output)
            return c * h * w * layer.input.channels * unit.kernel * unit.kernel
        }.max()!
        XCTAssertGreaterThanOrEqual(largest, LaneExecution.openMPShareableWork, "some layer is cut into parts")
        let (image, reference) = try ParityTests.repeated(cifar.input, cifar.expected, to: 1)
        let lanes = TestData.laneWidths[0]
        let (group, _) = try ParityTests.repeated(cifar.input, cifar.expected, to: max(2, lanes))
        let inGroup = ParityTests.row(try RANetModel.load(from: cifar.folder, options: RANetModel.Options(threads: 1, lanes: lanes, singleImages: .rows))
            .logits(for: group), image: 0)
        for threads in [1, 2, 3] {
            let model = try RANetModel.load(from: cifar.folder, options: RANetModel.Options(threads: threads, lanes: lanes, singleImages: .rows))
            XCTAssertEqual(model.threadsUsed(batch: 1), threads)
            let logits = try model.logits(for: image)
            ParityTests.assertParity(logits, reference, "\(threads) threads")
            XCTAssertEqual(ParityTests.row(logits, image: 0), inGroup, "\(threads) threads")
        }
    }

    /// oneDNN sums in orders of its own: an image it runs alone differs from the same
    /// image in a lane group by at most 10⁻⁵ of the largest logit (what README states).
    func testOneDNNAloneAgreesWithLaneGroupsWithinTheStatedBound() throws {
        for reference in try TestData.referenceModels() {
            let (name, folder, input, expected) = (reference.name, reference.folder, reference.input, reference.expected)
            let lanes = TestData.laneWidths[0]
            guard lanes > 1 else { continue }
            let (images, _) = try ParityTests.repeated(input, expected, to: lanes)
            let groupModel = try RANetModel.load(from: folder, options: RANetModel.Options(threads: 2, lanes: lanes, singleImages: .rows))
            XCTAssertEqual(groupModel.imageGroups(batch: lanes), [.init(images: 0..<lanes, backend: .laneGroup)], name)
            let groups = try groupModel.logits(for: images)
            let oneDNN = try RANetModel.load(from: folder, options: RANetModel.Options(threads: 2, lanes: 1, singleImages: .oneDNN))
            let alone = try oneDNN.logits(for: input)
            let scale = max(1, groups.values.map(abs).max() ?? 0)
            var worst: Float = 0
            for i in 0..<input.shape[0] {
                worst = max(worst, zip(ParityTests.row(alone, image: i), ParityTests.row(groups, image: i)).map { abs($0 - $1) }.max() ?? 0)
            }
            XCTAssertLessThanOrEqual(worst / scale, 1e-5, "\(name): oneDNN alone vs \(lanes) lanes")
            print("\(name): oneDNN alone vs \(lanes)-lane groups: \(worst / scale) of the largest logit")
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
