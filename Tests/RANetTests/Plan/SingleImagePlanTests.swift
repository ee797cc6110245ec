import Foundation
@testable import RANet
import XCTest

/// The per-layer choice between the row kernels and oneDNN for an image alone: the mixed
/// program's results, the measurement, and the plan cache with its bad files.
final class SingleImagePlanTests: XCTestCase {
    private func options(threads: Int, cache: URL?, kernels: RANetModel.SingleImageKernels = .fastest) -> RANetModel.Options {
        RANetModel.Options(threads: threads, lanes: 1, singleImages: kernels, planCache: cache.map { PlanCache(directory: $0) })
    }

    /// A plan giving every other layer oneDNN can run to oneDNN, stored where a model with
    /// this cache and these options looks for it.
    private func storeAlternatingPlan(for model: RANetModel, threads: Int, in folder: URL) {
        let candidates = OneDNNLayers.candidates(model.network, precision: .f32, kernels: .native)
        let plan = SingleImagePlan(layers: model.network.layers.indices.map { i in
            let k = candidates.firstIndex(of: i)
            return .init(name: SingleImagePlan.name(of: model.network.layers[i]), backend: k.map { $0 % 2 == 0 ? .oneDNN : .rows } ?? .rows,
                         rowsMilliseconds: 1, oneDNNMilliseconds: 1)
        }, threads: threads, source: .measured)
        let key = PlanCache.key(network: model.network, precision: .f32, rowWidth: LaneWidth.rowWidth(lanes: 1), lanes: 1, threads: threads, teamThreads: model.options.threads)
        XCTAssertTrue(PlanCache(directory: folder).store(plan, key: key))
    }

    /// Layers alternating between the two backends, every image alone, one and two
    /// threads: the authors' logits within 1e-4 on every reference model.
    func testMixedBackendsMatchTheReferenceLogits() throws {
        for reference in try TestData.referenceModels() {
            for threads in [1, 2] {
                let folder = try TestData.temporaryFolder()
                let probe = try RANetModel.load(from: reference.folder, options: options(threads: threads, cache: nil, kernels: .rows))
                storeAlternatingPlan(for: probe, threads: threads, in: folder)
                let model = try RANetModel.load(from: reference.folder, options: options(threads: threads, cache: folder))
                let plan = try model.singleImagePlan()
                XCTAssertEqual(plan.source, .cached)
                XCTAssertGreaterThan(plan.count(.oneDNN), 0)
                XCTAssertGreaterThan(plan.count(.rows), 0)
                // Reorders happen inside oneDNN's layers only, as their primitives report them.
                XCTAssertTrue(plan.layers.allSatisfy { $0.backend == .oneDNN ? (0...2).contains($0.reorders ?? -1) : $0.reorders == 0 })
                XCTAssertEqual(plan.reorders, plan.layers.compactMap(\.reorders).reduce(0, +))
                ParityTests.assertParity(try model.logits(for: reference.input), reference.expected,
                                         "\(reference.name), alternating backends, \(threads) threads")
                // A batch of one alone, and the rest one by one on several workers.
                let (one, oneExpected) = try ParityTests.repeated(reference.input, reference.expected, to: 1)
                ParityTests.assertParity(try model.logits(for: one), oneExpected, "\(reference.name), batch 1, \(threads) threads")
            }
        }
    }

    /// The default's stated tolerance: images alone with layers in oneDNN against the same
    /// images in lane groups, within 10⁻⁵ of the largest logit.
    func testMixedBackendsAgreeWithLaneGroupsWithinTheStatedBound() throws {
        let lanes = TestData.laneWidths[0]
        guard lanes > 1 else { throw XCTSkip("no lane kernels within RANET_MAX_LANES") }
        for reference in try TestData.referenceModels() {
            let folder = try TestData.temporaryFolder()
            let probe = try RANetModel.load(from: reference.folder, options: options(threads: 1, cache: nil, kernels: .rows))
            storeAlternatingPlan(for: probe, threads: 1, in: folder)
            let mixed = try RANetModel.load(from: reference.folder, options: options(threads: 1, cache: folder)).logits(for: reference.input)
            let (images, _) = try ParityTests.repeated(reference.input, reference.expected, to: lanes)
            let groups = try RANetModel.load(from: reference.folder, options: RANetModel.Options(threads: 1, lanes: lanes, singleImages: .rows))
                .logits(for: images)
            let (exits, n, classes) = (mixed.shape[0], mixed.shape[1], mixed.shape[2])
            let scale = max(1, groups.values.map(abs).max() ?? 0)
            var worst: Float = 0
            for k in 0..<exits {
                for i in 0..<n {
                    for c in 0..<classes {
                        worst = max(worst, abs(mixed.values[(k * n + i) * classes + c] - groups.values[(k * lanes + i) * classes + c]))
                    }
                }
            }
            XCTAssertLessThanOrEqual(worst / scale, 1e-5, "\(reference.name): alternating backends alone vs \(lanes)-lane groups")
        }
    }

    /// The first model measures and stores its plan; a second one with the same cache
    /// reads it instead, and runs the same backends.
    func testAMeasuredPlanIsCachedForTheNextModel() throws {
        let reference = try TestData.referenceModel("tiny-c3")
        let folder = try TestData.temporaryFolder()
        let first = try RANetModel.load(from: reference.folder, options: options(threads: 2, cache: folder))
        let measured = try first.singleImagePlan()
        XCTAssertEqual(measured.source, .measured)
        XCTAssertEqual(measured.layers.count, first.network.layers.count)
        XCTAssertTrue(measured.layers.allSatisfy { $0.name == "resize" || $0.rowsMilliseconds != nil })
        let files = { try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.count }
        XCTAssertEqual(try files(), 1)
        // Several images alone run on two workers of one thread each: a plan of its own.
        ParityTests.assertParity(try first.logits(for: reference.input), reference.expected, "tiny-c3, measured plan")
        XCTAssertEqual(try files(), 2)

        let second = try RANetModel.load(from: reference.folder, options: options(threads: 2, cache: folder))
        let cached = try second.singleImagePlan()
        XCTAssertEqual(cached.source, .cached)
        XCTAssertEqual(cached.layers, measured.layers)
        let oneThread = try RANetModel.load(from: reference.folder, options: options(threads: 1, cache: folder))
        XCTAssertEqual(try oneThread.singleImagePlan().source, .cached)
        XCTAssertEqual(try oneThread.singleImagePlan().threads, 1)
    }

    /// A cache file that is not JSON, or is another network's, is measured again and replaced.
    func testABadCacheFileIsMeasuredAgain() throws {
        let reference = try TestData.referenceModel("tiny-c3")
        let folder = try TestData.temporaryFolder()
        let model = try RANetModel.load(from: reference.folder, options: options(threads: 2, cache: folder))
        let key = PlanCache.key(network: model.network, precision: .f32, rowWidth: LaneWidth.rowWidth(lanes: 1), lanes: 1, threads: 2, teamThreads: 2)
        let file = PlanCache(directory: folder).file(for: key)
        for garbage in ["{not json", #"{"key": "x", "threads": 2, "layers": []}"#] {
            try Data(garbage.utf8).write(to: file)
            let again = try RANetModel.load(from: reference.folder, options: options(threads: 2, cache: folder))
            XCTAssertEqual(try again.singleImagePlan().source, .measured, garbage)
            XCTAssertNotNil(PlanCache(directory: folder).load(key: key, network: model.network, precision: .f32), "rewritten after \(garbage)")
        }
    }

    /// A cache folder that cannot be made (a file is in its way) costs the measurement, not the run.
    func testAnUnwritableCacheStillRuns() throws {
        let reference = try TestData.referenceModel("tiny-c3")
        let blocker = try TestData.temporaryFolder().appendingPathComponent("file")
        try Data("x".utf8).write(to: blocker)
        let model = try RANetModel.load(from: reference.folder, options: options(threads: 2, cache: blocker.appendingPathComponent("plans")))
        XCTAssertEqual(try model.singleImagePlan().source, .measured)
        ParityTests.assertParity(try model.logits(for: reference.input), reference.expected, "tiny-c3, unwritable cache")
    }

    /// Without a cache nothing is written; forced kernels need no measurement.
    func testNoCacheAndForcedBackends() throws {
        let reference = try TestData.referenceModel("tiny-c3")
        let measuredAlone = try RANetModel.load(from: reference.folder, options: options(threads: 2, cache: nil))
        XCTAssertEqual(try measuredAlone.singleImagePlan().source, .measured)
        let rows = try RANetModel.load(from: reference.folder, options: options(threads: 2, cache: nil, kernels: .rows)).singleImagePlan()
        XCTAssertEqual(rows.source, .forced)
        XCTAssertEqual(rows.count(.oneDNN), 0)
        XCTAssertEqual(rows.reorders, 0)
        let oneDNN = try RANetModel.load(from: reference.folder, options: options(threads: 2, cache: nil, kernels: .oneDNN)).singleImagePlan()
        XCTAssertEqual(oneDNN.count(.rows), oneDNN.layers.filter { $0.name == "resize" }.count)
        XCTAssertNil(oneDNN.reorders, "every layer in oneDNN's network, which keeps chains blocked: not counted per layer")
    }
}
