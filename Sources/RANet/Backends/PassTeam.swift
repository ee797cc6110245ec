import CRANet
import Foundation
import Synchronization

/// Work that threads can share, pass by pass: each pass cut into any number of parts.
protocol SharedPasses: AnyObject {
    /// Threads that help run the passes (nil: the caller runs them alone).
    var team: PassTeam? { get set }
    /// Whether a pass is worth cutting into parts (small ones cost less whole than the
    /// hand-over between threads).
    func isShareable(pass: Int) -> Bool
    /// Computes part `part` of `parts` of a pass.
    func runShare(pass: Int, part: Int, parts: Int)
}

/// Lets idle worker threads help run one group, pass by pass (a lane group's pass: a
/// layer, or the staging of a convolution's input; a ``RowBatchExecution``'s: layers of
/// some of its images, or one layer of all of them). The group's owner publishes each
/// pass as `shares` pieces (``SharedPasses/runShare(pass:part:parts:)``); whoever is
/// idle claims pieces too; the owner goes on to the next pass once every piece is
/// done. The owner never waits for a helper to arrive, so nothing can stall when none
/// does, and only one group at a time is published.
///
/// Used when a batch has fewer groups than threads, at the tail of a batch, by early
/// exit when one group runs a stage alone, and by images alone run together.
final class PassTeam: @unchecked Sendable {
    /// Pieces each pass is cut into.
    let shares: Int
    /// The published pass's round number in the high bits, the next unclaimed piece in
    /// the low. Round 0 starts with every piece taken: a helper arriving before the first
    /// round is published must find nothing to claim (its piece would be counted as
    /// finished in the round that follows).
    private let claims: Atomic<Int>
    /// Pieces of the published pass finished.
    private let finished = Atomic<Int>(0)
    /// 1 while some owner publishes.
    private let owned = Atomic<Int>(0)
    /// The published pass (guarded by `lock`): its group and pass index.
    private let lock = NSLock()
    private var job: (context: SharedPasses, pass: Int)?
    private static let shareBits = 16

    init(shares: Int) {
        self.shares = shares
        claims = Atomic(shares)
    }

    /// Runs passes of `context`, with the help of any thread that calls ``help()``
    /// meanwhile; alone when another group is being published.
    func run(_ context: SharedPasses, passes: Range<Int>) {
        guard owned.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged else {
            for pass in passes { context.runShare(pass: pass, part: 0, parts: 1) }
            return
        }
        for pass in passes {
            guard context.isShareable(pass: pass) else {
                context.runShare(pass: pass, part: 0, parts: 1)
                continue
            }
            lock.lock()
            job = (context, pass)
            lock.unlock()
            finished.store(0, ordering: .relaxed)
            let round = (claims.load(ordering: .relaxed) >> Self.shareBits) + 1
            claims.store(round << Self.shareBits, ordering: .releasing)
            while let part = claim(in: round) {
                context.runShare(pass: pass, part: part, parts: shares)
                finished.add(1, ordering: .releasing)
            }
            while finished.load(ordering: .acquiring) < shares {}
        }
        lock.lock()
        job = nil
        lock.unlock()
        owned.store(0, ordering: .releasing)
    }

    /// Works on the published pass if it has pieces left; returns whether it did any.
    func help() -> Bool {
        let state = claims.load(ordering: .acquiring)
        guard state & ((1 << Self.shareBits) - 1) < shares else { return false }
        lock.lock()
        let job = self.job
        lock.unlock()
        guard let job, let part = claim(in: state >> Self.shareBits) else { return false }
        job.context.runShare(pass: job.pass, part: part, parts: shares)
        finished.add(1, ordering: .releasing)
        return true
    }

    /// Helps if it can; otherwise waits a moment, spinning while the last help was
    /// recent (the next pass is usually a few microseconds away, shorter than a trip
    /// through the scheduler) and yielding the core after that. `idle` counts the
    /// calls since the last help.
    func helpOrWait(idle: inout Int) {
        if help() {
            idle = 0
        } else {
            idle += 1
            if idle < 4096 { cranet_spin_pause(32) } else { sched_yield() }
        }
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
