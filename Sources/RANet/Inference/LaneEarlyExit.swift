import CRANet
import Foundation
import Synchronization

extension RANetModel {
    /// Early exit for a batch in lane groups. A group computes all its lanes whether
    /// they hold an image or not, so the images still running after an exit are moved
    /// (their live tensors copied lane by lane) into as few groups as hold them, and a
    /// leaving image really stops costing work. See ``LaneExitSchedule``.
    ///
    /// The batch runs in chunks of ``earlyExitChunkGroups`` groups, one schedule after
    /// another: a schedule holds a context for each of its groups until its last stage,
    /// so without chunks memory would grow with the batch.
    func classifyInLaneGroups(_ images: Tensor, thresholds: ExitThresholds, top: Int) throws -> [Prediction] {
        let batch = images.shape[0], chunk = Self.earlyExitChunkGroups * options.lanes
        var predictions: [Prediction] = []
        predictions.reserveCapacity(batch)
        for start in stride(from: 0, to: batch, by: chunk) {
            let schedule = LaneExitSchedule(model: self, thresholds: thresholds, top: top)
            defer { release(lanes: schedule.contexts) }
            predictions += try schedule.run(images, start..<min(start + chunk, batch))
        }
        return predictions
    }

    /// Lane groups one early-exit schedule takes at most.
    static let earlyExitChunkGroups = 16
}

/// Runs a batch's lane groups stage by stage (a stage: the layers up to the next exit)
/// on the worker threads, without a barrier between stages. A group that finishes a
/// stage keeps its leaving images' predictions and hands its other images to the group
/// forming for the next stage, filling it; a forming group starts when it is full or
/// when no group that could still add to it remains. Threads take the ready group of
/// the earliest stage first, which fills forming groups soonest; a thread with no
/// group to take helps run one that is running (``PassTeam``).
final class LaneExitSchedule {
    private struct Group {
        let context: LaneExecution
        /// The image in each lane (nil: none).
        var slots: [Int?]
        /// The stage it runs next.
        var stage: Int
        var free: Int { slots.filter { $0 == nil }.count }
        var isEmpty: Bool { !slots.contains { $0 != nil } }
    }

    private let model: RANetModel
    private let thresholds: ExitThresholds
    private let top: Int
    private let lanes: Int
    private let exitLayers: [Int]
    /// What an image carries into each stage (``ExecutionPlan/liveState(after:in:)``).
    private let stateBefore: [[(tensor: Int, floats: Int)]]
    private let condition = NSCondition()
    private var ready: [Group] = []
    /// Per stage, the group collecting images for it.
    private var forming: [Int: Group] = [:]
    /// Per stage, the groups at it: ready, running or forming.
    private var groupsAt: [Int]
    private var results: [Prediction?] = []
    /// Groups being run now.
    private var running = 0
    /// Changes whenever a group finishes a stage: a helping thread then looks again for
    /// work of its own.
    private let progress = Atomic<Int>(0)
    private let team: PassTeam
    private var failure: Error?
    /// Every context used, to return to the model's pool at the end.
    private(set) var contexts: [LaneExecution] = []

    init(model: RANetModel, thresholds: ExitThresholds, top: Int) {
        self.model = model
        self.thresholds = thresholds
        self.top = top
        lanes = model.options.lanes
        exitLayers = model.exitLayers
        stateBefore = exitLayers.indices.map { $0 == 0 ? [] : model.plan.liveState(after: model.exitLayers[$0 - 1], in: model.network) }
        groupsAt = [Int](repeating: 0, count: exitLayers.count)
        team = PassTeam(shares: 2 * model.options.threads)
    }

    /// The predictions of `range`'s images of the batch, in order (run once per schedule).
    func run(_ images: Tensor, _ range: Range<Int>) throws -> [Prediction] {
        let batch = range.count, imageFloats = model.imageShape.reduce(1, *)
        results = [Prediction?](repeating: nil, count: batch)
        try images.values.withUnsafeBufferPointer { values in
            let source = values.baseAddress! + range.lowerBound * imageFloats
            for start in stride(from: 0, to: batch, by: lanes) {
                let members = Array(start..<min(start + lanes, batch))
                let context = try model.acquireLaneContext(lanes: lanes)
                context.load(members.map { source + $0 * imageFloats })
                contexts.append(context)
                ready.append(Group(context: context, slots: members + [Int?](repeating: nil, count: lanes - members.count), stage: 0))
            }
        }
        groupsAt[0] = ready.count
        // Lane groups run no oneDNN layer: one OpenMP thread each.
        runOnWorkers(model.options.threads, openMPThreads: 1) { _ in self.work() }
        if let failure { throw failure }
        return results.map { $0! }
    }

    private func work() {
        var logits = [Float](repeating: 0, count: model.numClasses)
        condition.lock()
        while failure == nil {
            guard let next = ready.indices.min(by: { ready[$0].stage < ready[$1].stage }) else {
                if groupsAt.allSatisfy({ $0 == 0 }) { break }
                if running > 0 {
                    // Help the running groups until one of them finishes its stage.
                    let seen = progress.load(ordering: .acquiring)
                    condition.unlock()
                    var idle = 0
                    while progress.load(ordering: .acquiring) == seen { team.helpOrWait(idle: &idle) }
                    condition.lock()
                } else {
                    condition.wait()
                }
                continue
            }
            var group = ready.remove(at: next)
            running += 1
            condition.unlock()
            let stage = group.stage
            group.context.team = team
            do {
                let first = stage == 0 ? 0 : exitLayers[stage - 1] + 1
                try group.context.run(layers: first..<(exitLayers[stage] + 1))
                group.context.team = nil
            } catch {
                group.context.team = nil
                condition.lock()
                failure = error
                running -= 1
                progress.add(1, ordering: .releasing)
                condition.broadcast()
                break
            }
            var leaving: [(Int, Prediction)] = []
            for (slot, image) in group.slots.enumerated() {
                guard let image else { continue }
                group.context.copyLogits(slot: slot, exit: stage, to: &logits)
                if let prediction = model.prediction(logits, exit: stage, thresholds: thresholds, top: top) {
                    leaving.append((image, prediction))
                    group.slots[slot] = nil
                }
            }
            condition.lock()
            for (image, prediction) in leaving { results[image] = prediction }
            groupsAt[stage] -= 1
            running -= 1
            if !group.isEmpty { hand(group, on: stage + 1) }
            startFinishedFormingGroups()
            progress.add(1, ordering: .releasing)
            condition.broadcast()
        }
        condition.unlock()
    }

    /// Moves a group's images into the group forming for `stage`, as many as fit; what
    /// is left becomes the forming group itself. Called with the lock held.
    private func hand(_ group: Group, on stage: Int) {
        var group = group
        if var target = forming[stage] {
            var sources = [Int32](repeating: -1, count: lanes)
            for (slot, image) in group.slots.enumerated() {
                guard let image, let free = target.slots.firstIndex(where: { $0 == nil }) else { continue }
                target.slots[free] = image
                group.slots[slot] = nil
                sources[free] = Int32(slot)
            }
            target.context.takeImages(from: group.context, sources: sources, state: stateBefore[stage])
            if target.free == 0 {
                forming[stage] = nil
                ready.append(target)
            } else {
                forming[stage] = target
            }
        }
        guard !group.isEmpty else { return }
        group.stage = stage
        groupsAt[stage] += 1
        if group.free == 0 {
            ready.append(group)
        } else {
            forming[stage] = group
        }
    }

    /// Starts forming groups that no group still running an earlier stage can add to.
    private func startFinishedFormingGroups() {
        for (stage, group) in forming where groupsAt[..<stage].allSatisfy({ $0 == 0 }) {
            forming[stage] = nil
            ready.append(group)
        }
    }
}
