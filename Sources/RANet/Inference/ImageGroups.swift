/// The one place that decides which backend computes each image of a batch: lane
/// groups of ``RANetModel/Options/lanes`` images, or images alone in the row kernels
/// (with oneDNN for the layers a measured plan gives it) or in oneDNN.
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

    /// The groups of a batch of `batch` images, in order: whole lane groups, then the
    /// rest as one partly filled group if it holds enough images (``laneGrouping(batch:)``),
    /// or image by image on ``Options/singleImages``' kernels.
    func imageGroups(batch: Int) -> [ImageGroup] {
        Self.imageGroups(batch: batch, laneGrouping(batch: batch), alone: options.singleImages == .oneDNN ? .oneDNN : .rowKernels)
    }

    static func imageGroups(batch: Int, _ grouping: LaneGrouping, alone: GroupBackend) -> [ImageGroup] {
        let lanes = grouping.lanes
        var groups: [ImageGroup] = []
        var start = 0
        while batch - start >= lanes && lanes > 1 {
            groups.append(ImageGroup(images: start..<(start + lanes), backend: .laneGroup))
            start += lanes
        }
        if lanes > 1 && batch - start >= grouping.minimum {
            groups.append(ImageGroup(images: start..<batch, backend: .laneGroup))
        } else {
            groups += (start..<batch).map { ImageGroup(images: $0..<($0 + 1), backend: alone) }
        }
        return groups
    }
}
