import CRANet
import Dispatch
import Foundation
import Synchronization

/// Runs `work(worker)` for each of `workers` workers, the calling thread among them,
/// each set up as every worker of a batch runs: denormals flushed (``cranet_flush_denormals``),
/// and the oneDNN layers it runs on `openMPThreads` OpenMP threads.
func runOnWorkers(_ workers: Int, openMPThreads: Int, _ work: @escaping (Int) -> Void) {
    let worker: (Int) -> Void = { index in
        cranet_set_num_threads(Int32(openMPThreads))
        cranet_flush_denormals()
        work(index)
    }
    if workers == 1 { worker(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: worker) }
}

/// A count several threads decrement.
final class Counter: @unchecked Sendable {
    private let atomic: Atomic<Int>
    init(_ value: Int) { atomic = Atomic(value) }
    var value: Int { atomic.load(ordering: .acquiring) }
    func decrement() { atomic.subtract(1, ordering: .releasing) }
}

/// The first error of several threads.
final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var error: Error?
    func set(_ e: Error) {
        lock.lock()
        if error == nil { error = e }
        lock.unlock()
    }
}
