import Foundation
import Synchronization

extension RANetModel {
    /// Runs a batch's images (N×3×H×W, checked) through `stages`, consecutive layer ranges
    /// that cover the network, on ``BatchSchedule``: the one scheduler of ``logits(for:)``
    /// and ``classify(_:thresholds:top:)``. After each stage `stageEnd` is called for every
    /// image still running and says whether it leaves; at the last stage every image leaves.
    func runBatch(_ images: Tensor, stages: [Range<Int>], merging: Bool, stageEnd: @escaping BatchSchedule.StageEnd) throws {
        let batch = images.shape[0]
        guard batch > 0 else { return }
        let schedule = BatchSchedule(model: self, groups: imageGroups(batch: batch, merging: merging), stages: stages, stageEnd: stageEnd)
        try images.values.withUnsafeBufferPointer { try schedule.run($0.baseAddress!) }
    }
}

/// Runs a batch's groups (``RANetModel/imageGroups(batch:merging:)``) stage by stage on
/// the worker threads, without a barrier between stages. A stage is a range of layers:
/// every layer for ``RANetModel/logits(for:)``, the layers up to the next exit for early
/// exit. After a group's stage, ``StageEnd`` says which of its images leave:
///
/// - A lane group computes all its lanes whether they hold an image or not, so it hands
///   the images still running to the group forming for the next stage (their live
///   tensors copied lane by lane), filling it, and a leaving image really stops costing
///   work. A forming group starts when it is full or when no group that could still
///   add to it remains.
/// - A row batch stops computing its leaving images (``GroupExecution/retire(slot:)``);
///   an image alone simply stops.
///
/// Threads take the ready group of the latest stage first, so groups finish and give
/// their contexts back before new ones start: the contexts in use stay at about one per
/// thread and one forming group per stage, whatever the batch. A group's context comes
/// from the model's pool when the group first runs and is kept by the schedule, once the
/// group is done, for the next group of its backend; all go back to the pool at the end.
/// A thread with no group to take helps run one that is running (``PassTeam``).
///
/// An image alone on a lone worker gets every thread: oneDNN's layers use them inside
/// each primitive, the row kernels' larger layers are cut into parts on the same OpenMP
/// team (``LaneExecution/sharesOnOpenMP``), and its exit heads run beside the blocks after
/// them (``ExitOverlap``); several workers run one thread each.
final class BatchSchedule {
    /// Says whether `image`, in `slot` of `context`, leaves after `stage` ran.
    typealias StageEnd = (_ context: GroupExecution, _ stage: Int, _ slot: Int, _ image: Int) -> Bool

    /// A group's context, by backend.
    private enum Context {
        case lanes(LaneExecution)
        case oneDNN(OneDNNExecution)
        case rowBatch(RowBatchExecution)

        var execution: GroupExecution {
            switch self {
            case .lanes(let context): context
            case .oneDNN(let context): context
            case .rowBatch(let context): context
            }
        }

        /// The context's passes, when idle threads can help with them.
        var shared: SharedPasses? {
            switch self {
            case .lanes(let context): context
            case .oneDNN: nil
            case .rowBatch(let context): context
            }
        }
    }

    private struct Group {
        let backend: RANetModel.GroupBackend
        /// The images it is loaded with when it first runs.
        let images: Range<Int>
        var context: Context?
        /// The image in each slot (nil: none).
        var slots: [Int?]
        /// The stage it runs next.
        var stage = 0
        var free: Int { slots.filter { $0 == nil }.count }
        var isEmpty: Bool { !slots.contains { $0 != nil } }
    }

    private let model: RANetModel
    private let stages: [Range<Int>]
    private let stageEnd: StageEnd
    private let workers: Int
    /// OpenMP threads each image's oneDNN layers (and a lone image's shared passes) use.
    private let threadsPerImage: Int
    /// Images a row batch context holds: the largest row batch of the batch.
    private let rowBatchSize: Int
    private let team: PassTeam?
    /// What an image carries into each stage (``ExecutionPlan/liveState(after:in:)``), for lane groups that merge.
    private let stateBefore: [[(tensor: Int, floats: Int)]]
    private let condition = NSCondition()
    private var ready: [Group]
    /// Per stage, the lane group collecting images for it.
    private var forming: [Int: Group] = [:]
    /// Per stage, the groups at it: ready, running or forming.
    private var groupsAt: [Int]
    /// Groups being run now.
    private var running = 0
    /// Changes whenever a group finishes a stage: a helping thread then looks again for
    /// work of its own.
    private let progress = Atomic<Int>(0)
    private var failure: Error?
    /// Contexts of finished groups, for the next group of the same backend.
    private var idle: [RANetModel.GroupBackend: [Context]] = [:]
    /// Every context taken from the model's pool, to give back at the end.
    private var taken: [Context] = []
    private var source: UnsafePointer<Float>?

    init(model: RANetModel, groups: [RANetModel.ImageGroup], stages: [Range<Int>], stageEnd: @escaping StageEnd) {
        self.model = model
        self.stages = stages
        self.stageEnd = stageEnd
        let lanes = model.options.lanes
        ready = groups.map { group in
            let width = group.backend == .laneGroup ? lanes : group.images.count
            return Group(backend: group.backend, images: group.images, context: nil,
                         slots: group.images.map { $0 } + [Int?](repeating: nil, count: width - group.images.count))
        }
        groupsAt = [ready.count] + [Int](repeating: 0, count: stages.count - 1)
        workers = model.workerCount(groups: groups)
        threadsPerImage = workers == 1 ? model.options.threads : 1
        team = groups.contains { $0.backend.sharesPasses } && workers > 1 ? PassTeam(shares: 2 * workers) : nil
        rowBatchSize = groups.filter { $0.backend == .rowBatch }.map(\.images.count).max() ?? 0
        let merges = groups.contains { $0.backend == .laneGroup } && stages.count > 1
        stateBefore = stages.indices.map { s in
            merges && s > 0 ? model.plan.liveState(after: stages[s - 1].upperBound - 1, in: model.network) : []
        }
    }

    /// Runs every group to its end (once per schedule): `images` holds the batch.
    func run(_ images: UnsafePointer<Float>) throws {
        source = images
        defer {
            for context in taken {
                switch context {
                case .lanes(let lanes): model.release(lanes: [lanes])
                case .oneDNN(let single): model.release(single: single, lanes: [])
                case .rowBatch(let batch): model.release(lanes: batch.images)
                }
            }
        }
        runOnWorkers(workers, openMPThreads: threadsPerImage) { _ in self.work() }
        if let failure { throw failure }
    }

    private func work() {
        condition.lock()
        while failure == nil {
            guard let next = ready.indices.max(by: { ready[$0].stage < ready[$1].stage }) else {
                if groupsAt.allSatisfy({ $0 == 0 }) { break }
                if running > 0, let team {
                    // Help the running groups until one of them finishes its stage.
                    let seen = progress.load(ordering: .acquiring)
                    condition.unlock()
                    var spins = 0
                    while progress.load(ordering: .acquiring) == seen { team.helpOrWait(idle: &spins) }
                    condition.lock()
                } else {
                    condition.wait()
                }
                continue
            }
            var group = ready.remove(at: next)
            running += 1
            let recycled = group.context == nil ? idle[group.backend]?.popLast() : nil
            condition.unlock()
            let stage = group.stage
            var leaving: [Int] = []
            do {
                if group.context == nil { group.context = try start(group, recycled: recycled) }
                let context = group.context!
                context.shared?.team = team
                defer { context.shared?.team = nil }
                try context.execution.run(layers: stages[stage])
                for (slot, image) in group.slots.enumerated() {
                    if let image, stageEnd(context.execution, stage, slot, image) { leaving.append(slot) }
                }
            } catch {
                condition.lock()
                failure = failure ?? error
                running -= 1
                progress.add(1, ordering: .releasing)
                condition.broadcast()
                break
            }
            for slot in leaving {
                group.slots[slot] = nil
                group.context!.execution.retire(slot: slot)
            }
            condition.lock()
            groupsAt[stage] -= 1
            running -= 1
            if group.isEmpty || stage + 1 == stages.count {
                finish(group)
            } else if group.backend == .laneGroup {
                hand(group, on: stage + 1)
            } else {
                group.stage += 1
                groupsAt[group.stage] += 1
                ready.append(group)
            }
            startFinishedFormingGroups()
            progress.add(1, ordering: .releasing)
            condition.broadcast()
        }
        condition.unlock()
    }

    /// A context for a group's first stage, loaded with its images: a finished group's of
    /// the same backend, or one from the model's pool.
    private func start(_ group: Group, recycled: Context?) throws -> Context {
        let context: Context
        if let recycled {
            context = recycled
        } else {
            switch group.backend {
            case .laneGroup: context = .lanes(try model.acquireLaneContext(lanes: model.options.lanes))
            case .rowKernels: context = .lanes(try model.acquireLaneContext(lanes: 1, threads: threadsPerImage))
            case .oneDNN: context = .oneDNN(try model.acquireContext(threads: threadsPerImage))
            case .rowBatch:
                var images: [LaneExecution] = []
                do {
                    for _ in 0..<rowBatchSize { images.append(try model.acquireLaneContext(lanes: 1)) }
                } catch {
                    model.release(lanes: images)
                    throw error
                }
                context = .rowBatch(RowBatchExecution(images: images))
            }
            condition.lock()
            taken.append(context)
            condition.unlock()
        }
        if case .lanes(let lanes) = context { lanes.sharesOnOpenMP = group.backend == .rowKernels && threadsPerImage > 1 }
        let floats = model.imageShape.reduce(1, *)
        context.execution.load(group.images.map { source! + $0 * floats })
        return context
    }

    /// Keeps a done group's context for the next group of its backend. Called with the lock held.
    private func finish(_ group: Group) {
        if let context = group.context { idle[group.backend, default: []].append(context) }
    }

    /// Moves a lane group's images into the group forming for `stage`, as many as fit;
    /// what is left becomes the forming group itself. Called with the lock held.
    private func hand(_ group: Group, on stage: Int) {
        var group = group
        if var target = forming[stage], case .lanes(let into) = target.context, case .lanes(let from) = group.context {
            var sources = [Int32](repeating: -1, count: group.slots.count)
            for (slot, image) in group.slots.enumerated() {
                guard let image, let free = target.slots.firstIndex(where: { $0 == nil }) else { continue }
                target.slots[free] = image
                group.slots[slot] = nil
                sources[free] = Int32(slot)
            }
            into.takeImages(from: from, sources: sources, state: stateBefore[stage])
            if target.free == 0 {
                forming[stage] = nil
                ready.append(target)
            } else {
                forming[stage] = target
            }
        }
        guard !group.isEmpty else { return finish(group) }
        group.stage = stage
        groupsAt[stage] += 1
        if group.free == 0 {
            ready.append(group)
        } else {
            forming[stage] = group
        }
    }

    /// Starts forming groups that no group still at an earlier stage can add to.
    private func startFinishedFormingGroups() {
        for (stage, group) in forming where groupsAt[..<stage].allSatisfy({ $0 == 0 }) {
            forming[stage] = nil
            ready.append(group)
        }
    }
}
