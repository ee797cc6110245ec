import XCTest
@testable import RANet

final class ImageGroupsTests: XCTestCase {
    private typealias Group = RANetModel.ImageGroup

    /// Whole lane groups first; a rest of at least the minimum is one partly filled
    /// group, a smaller one runs image by image on the kernels for images alone.
    func testABatchSplitsIntoWholeGroupsThenTheRest() {
        let grouping = RANetModel.LaneGrouping(lanes: 16, minimum: 6)
        XCTAssertEqual(RANetModel.imageGroups(batch: 38, grouping, alone: .rowKernels),
                       [Group(images: 0..<16, backend: .laneGroup), Group(images: 16..<32, backend: .laneGroup),
                        Group(images: 32..<38, backend: .laneGroup)])
        XCTAssertEqual(RANetModel.imageGroups(batch: 37, grouping, alone: .oneDNN),
                       [Group(images: 0..<16, backend: .laneGroup), Group(images: 16..<32, backend: .laneGroup)]
                           + (32..<37).map { Group(images: $0..<($0 + 1), backend: .oneDNN) })
        XCTAssertEqual(RANetModel.imageGroups(batch: 0, grouping, alone: .rowKernels), [])
    }

    /// A width of 1 (or a CPU where images alone beat lane groups) puts every image alone.
    func testWidthOneRunsEveryImageAlone() {
        let groups = RANetModel.imageGroups(batch: 20, RANetModel.LaneGrouping(lanes: 1, minimum: 2), alone: .rowKernels)
        XCTAssertEqual(groups, (0..<20).map { Group(images: $0..<($0 + 1), backend: .rowKernels) })
    }

    /// Images alone in the row kernels go in row batches of at most the limit, as even
    /// as can be; a single image stays alone, and oneDNN's images are never batched.
    func testImagesAloneGoInEvenRowBatches() {
        let width1 = RANetModel.LaneGrouping(lanes: 1, minimum: 2)
        XCTAssertEqual(RANetModel.imageGroups(batch: 40, width1, alone: .rowKernels, rowBatch: 16),
                       [Group(images: 0..<13, backend: .rowBatch), Group(images: 13..<26, backend: .rowBatch),
                        Group(images: 26..<40, backend: .rowBatch)])
        XCTAssertEqual(RANetModel.imageGroups(batch: 1, width1, alone: .rowKernels, rowBatch: 16),
                       [Group(images: 0..<1, backend: .rowKernels)])
        XCTAssertEqual(RANetModel.imageGroups(batch: 3, width1, alone: .oneDNN, rowBatch: 16),
                       (0..<3).map { Group(images: $0..<($0 + 1), backend: .oneDNN) })
        let grouping = RANetModel.LaneGrouping(lanes: 16, minimum: 6)
        XCTAssertEqual(RANetModel.imageGroups(batch: 20, grouping, alone: .rowKernels, rowBatch: 16),
                       [Group(images: 0..<16, backend: .laneGroup), Group(images: 16..<20, backend: .rowBatch)])
        XCTAssertEqual(RANetModel.imageGroups(batch: 17, grouping, alone: .rowKernels, rowBatch: 16),
                       [Group(images: 0..<16, backend: .laneGroup), Group(images: 16..<17, backend: .rowKernels)])
    }

    /// A network whose weights fit in cache (cifar-c1) runs its images alone one by one.
    func testASmallNetworkHasNoRowBatches() throws {
        let cifar = try TestData.referenceModel("cifar-c1")
        let model = try RANetModel.load(from: cifar.folder, options: RANetModel.Options(threads: 2, lanes: 1, singleImages: .rows))
        XCTAssertEqual(model.imageGroups(batch: 3), (0..<3).map { Group(images: $0..<($0 + 1), backend: .rowKernels) })
    }

    /// The model's own split follows its options: the lane width, and oneDNN or the row
    /// kernels for the images left alone.
    func testTheModelsSplitFollowsItsOptions() throws {
        let cifar = try TestData.referenceModel("cifar-c1")
        for lanes in TestData.laneWidths.filter({ $0 > 1 }) {
            let model = try RANetModel.load(from: cifar.folder, options: RANetModel.Options(threads: 1, lanes: lanes, singleImages: .oneDNN))
            let groups = model.imageGroups(batch: lanes + 1)
            XCTAssertEqual(groups.first, Group(images: 0..<lanes, backend: .laneGroup), "\(lanes) lanes")
            XCTAssertEqual(groups.last, Group(images: lanes..<(lanes + 1), backend: .oneDNN), "\(lanes) lanes")
        }
    }

    /// Early exit merges lane groups as images leave, so a batch with lane groups puts
    /// its rest in a partly filled one however few it holds; a batch too small for a
    /// group still runs alone.
    func testMergingPutsTheRestInALaneGroup() throws {
        for lanes in TestData.laneWidths where lanes > 1 {
            let model = try RANetModel.bundled(options: RANetModel.Options(threads: 1, lanes: lanes, singleImages: .rows))
            XCTAssertEqual(model.imageGroups(batch: lanes + 1).last, Group(images: lanes..<(lanes + 1), backend: .rowKernels))
            XCTAssertEqual(model.imageGroups(batch: lanes + 1, merging: true),
                           [Group(images: 0..<lanes, backend: .laneGroup), Group(images: lanes..<(lanes + 1), backend: .laneGroup)])
            XCTAssertEqual(model.imageGroups(batch: 1, merging: true), [Group(images: 0..<1, backend: .rowKernels)])
        }
    }
}
