import Foundation
import Synchronization

/// Lets idle worker threads help run one lane group, layer by layer. The group's
/// owner publishes each layer as `shares` pieces (``LaneExecutionContext/runShare``);
/// whoever is idle claims pieces too; the owner goes on to the next layer once every
/// piece is done. The owner never waits for a helper to arrive, so nothing can stall
/// when none does, and only one group at a time is published.
///
/// Used when a batch has fewer groups than threads, at the tail of a batch, and by
/// early exit when one group runs a stage alone.
final class LaneTeam: @unchecked Sendable {
    /// Pieces each layer is cut into.
    let shares: Int
    /// The published layer's round number in the high bits, the next unclaimed piece in
    /// the low. Round 0 starts with every piece taken: a helper arriving before the first
    /// round is published must find nothing to claim (its piece would be counted as
    /// finished in the round that follows).
    private let claims: Atomic<Int>
    /// Pieces of the published layer finished.
    private let finished = Atomic<Int>(0)
    /// 1 while some owner publishes.
    private let owned = Atomic<Int>(0)
    /// The published layer (guarded by `lock`): its group and layer index.
    private let lock = NSLock()
    private var job: (context: LaneExecutionContext, layer: Int)?
    private static let shareBits = 16

    init(shares: Int) {
        self.shares = shares
        claims = Atomic(shares)
    }

    /// Runs layers of `context`, with the help of any thread that calls ``help(_:)``
    /// meanwhile; alone (with its own scratch) when another group is being published.
    func run(_ context: LaneExecutionContext, layers: Range<Int>) {
        guard owned.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged else {
            var staged = StagedLayer()
            for layer in layers {
                context.runShare(layer: layer, part: 0, parts: 1, scratch: context.scratch, staged: &staged, round: layer)
            }
            return
        }
        var staged = StagedLayer()
        for layer in layers {
            lock.lock()
            job = (context, layer)
            lock.unlock()
            finished.store(0, ordering: .relaxed)
            let round = (claims.load(ordering: .relaxed) >> Self.shareBits) + 1
            claims.store(round << Self.shareBits, ordering: .releasing)
            while let part = claim(in: round) {
                context.runShare(layer: layer, part: part, parts: shares, scratch: context.scratch, staged: &staged, round: round)
                finished.add(1, ordering: .releasing)
            }
            while finished.load(ordering: .acquiring) < shares {}
        }
        lock.lock()
        job = nil
        lock.unlock()
        owned.store(0, ordering: .releasing)
    }

    /// Works on the published layer if it has pieces left; returns whether it did any.
    func help(_ helper: inout LaneHelper) -> Bool {
        let state = claims.load(ordering: .acquiring)
        guard state & ((1 << Self.shareBits) - 1) < shares else { return false }
        lock.lock()
        let job = self.job
        lock.unlock()
        guard let job, let part = claim(in: state >> Self.shareBits) else { return false }
        job.context.runShare(layer: job.layer, part: part, parts: shares, scratch: helper.scratch(for: job.context),
                             staged: &helper.staged, round: state >> Self.shareBits)
        finished.add(1, ordering: .releasing)
        return true
    }

    private func claim(in round: Int) -> Int? {
        var state = claims.load(ordering: .acquiring)
        while state >> Self.shareBits == round && state & ((1 << Self.shareBits) - 1) < shares {
            let (exchanged, current) = claims.compareExchange(expected: state, desired: state + 1, ordering: .acquiringAndReleasing)
            if exchanged { return state & ((1 << Self.shareBits) - 1) }
            state = current
        }
        return nil
    }
}

/// Which layer a thread's scratch holds the staged input of (a convolution's input is
/// staged once per thread, not once per piece).
struct StagedLayer {
    var round = -1
}

/// A helping thread's own scratch, grown to what the groups it helps need.
struct LaneHelper {
    private(set) var buffer: LaneScratch?
    var staged = StagedLayer()

    mutating func scratch(for context: LaneExecutionContext) -> LaneScratch {
        if let buffer, buffer.floats >= context.scratch.floats { return buffer }
        buffer = LaneScratch(floats: context.scratch.floats)
        return buffer!
    }
}

/// A 64-byte aligned float buffer.
final class LaneScratch {
    let floats: Int
    let pointer: UnsafeMutablePointer<Float>
    init(floats: Int) {
        self.floats = floats
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(floats, 1) * 4, alignment: 64)
            .bindMemory(to: Float.self, capacity: max(floats, 1))
    }
    deinit { pointer.deallocate() }
}
