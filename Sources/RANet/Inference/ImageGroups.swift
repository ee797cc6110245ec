/// The one place that decides which backend computes each image of a batch: lane
/// groups of ``RANetModel/Options/lanes`` images, or images alone in the row kernels
/// (with oneDNN for the layers a measured plan gives it; several of them together where
/// some layers' weights outweigh an image's map) or in oneDNN.
extension RANetModel {
    /// What computes one group of a batch.
    enum GroupBackend: Equatable {
        /// The lane kernels, one image per vector lane (``LaneExecution`` of the lane width).
        case laneGroup
        /// One image in the row kernels, with ``SingleImageKernels/fastest``'s oneDNN
        /// layers where it has any (``LaneExecution`` of width 1).
        case rowKernels
        /// One image through every layer's oneDNN primitive (``OneDNNExecution``).
        case oneDNN
        /// Images alone in the row kernels, run together layer by layer (``RowBatchExecution``).
        case rowBatch

        /// Whether idle threads help compute the group (``PassTeam``).
        var sharesPasses: Bool { self == .laneGroup || self == .rowBatch }
    }

    /// Consecutive images of a batch and what computes them.
    struct ImageGroup: Equatable {
        let images: Range<Int>
        let backend: GroupBackend
    }

    /// How a batch is split into lane groups: their width, and the fewest images a partly
    /// filled group takes (fewer run alone; a width of 1: every image alone).
    struct LaneGrouping: Equatable {
        let lanes: Int
        let minimum: Int
    }

    /// Images from which a partly filled lane group is faster than running them one
    /// by one through oneDNN. Measured with 16 lanes: one cifar-c1 image alone takes
    /// about 3.5 ms, a group about 21 ms; a Fashion-MNIST image 1.4 ms, a group 6.4 ms.
    /// ``SingleImageKernels/fastest`` measures instead (``laneGrouping(batch:)``).
    static func laneGroupMinimum(_ lanes: Int) -> Int { max(2, lanes * 3 / 8) }

    /// The grouping of a batch of `batch` images. With ``SingleImageKernels/fastest``, from
    /// the measured cost of a full group against images alone (``SingleImagePlan/laneGroups``):
    /// a group costs the same however few images it holds, so it takes at least
    /// lanes × (group cost per image ÷ cost alone) of them, and none at all where images
    /// alone are faster even in full groups (wide ImageNet layers on some CPUs).
    func laneGrouping(batch: Int) -> LaneGrouping {
        let lanes = options.lanes
        guard lanes > 1 else { return LaneGrouping(lanes: 1, minimum: 2) }
        guard options.singleImages == .fastest, batch >= 2,
              let comparison = try? singleImagePrograms[1]!.value.get().plan.laneGroups, comparison.lanes == lanes else {
            return LaneGrouping(lanes: lanes, minimum: Self.laneGroupMinimum(lanes))
        }
        guard comparison.prefersLaneGroups else { return LaneGrouping(lanes: 1, minimum: 2) }
        let minimum = Int((Double(lanes) * comparison.groupMillisecondsPerImage / comparison.aloneMilliseconds).rounded(.up))
        return LaneGrouping(lanes: lanes, minimum: max(2, minimum))
    }

    /// Images a row batch holds at most: its batched layers then read their weights a
    /// sixteenth as often as images alone; more would hold more arenas (9.2 MB an image
    /// at ImageNet scale) for little.
    static let rowBatchLimit = 16

    /// The groups of a batch of `batch` images, in order: whole lane groups, then the
    /// rest as one partly filled group if it holds enough images (``laneGrouping(batch:)``),
    /// or image by image on ``Options/singleImages``' kernels: in the row kernels, in row
    /// batches where the row program has layers to batch (``RowBatchExecution/batchedLayers(of:layerFloats:programFloats:)``).
    ///
    /// With `merging` (early exit, whose lane groups merge as their images leave), a batch
    /// with any lane group puts its rest in a partly filled one too: it fills as the groups
    /// before it lose images.
    func imageGroups(batch: Int, merging: Bool = false) -> [ImageGroup] {
        var grouping = laneGrouping(batch: batch)
        if merging && grouping.lanes > 1 && batch >= grouping.minimum { grouping = LaneGrouping(lanes: grouping.lanes, minimum: 1) }
        let alone: GroupBackend = options.singleImages == .oneDNN ? .oneDNN : .rowKernels
        let groups = Self.imageGroups(batch: batch, grouping, alone: alone)
        guard groups.filter({ $0.backend == .rowKernels }).count >= 2,
              let program = try? program(lanes: 1, threads: 1), RowBatchExecution.batchedLayers(of: program).contains(true) else {
            return groups
        }
        return Self.imageGroups(batch: batch, grouping, alone: alone, rowBatch: Self.rowBatchLimit)
    }

    /// The same, images alone in the row kernels run `rowBatch` at most together (1: each
    /// on its own), in batches as even as can be.
    static func imageGroups(batch: Int, _ grouping: LaneGrouping, alone: GroupBackend, rowBatch: Int = 1) -> [ImageGroup] {
        let lanes = grouping.lanes
        var groups: [ImageGroup] = []
        var start = 0
        while batch - start >= lanes && lanes > 1 {
            groups.append(ImageGroup(images: start..<(start + lanes), backend: .laneGroup))
            start += lanes
        }
        if lanes > 1 && batch - start >= grouping.minimum {
            groups.append(ImageGroup(images: start..<batch, backend: .laneGroup))
        } else if alone == .rowKernels && rowBatch > 1 && batch - start >= 2 {
            let rest = batch - start, batches = (rest + rowBatch - 1) / rowBatch
            groups += (0..<batches).map {
                ImageGroup(images: (start + $0 * rest / batches)..<(start + ($0 + 1) * rest / batches), backend: .rowBatch)
            }
        } else {
            groups += (start..<batch).map { ImageGroup(images: $0..<($0 + 1), backend: alone) }
        }
        return groups
    }
}
