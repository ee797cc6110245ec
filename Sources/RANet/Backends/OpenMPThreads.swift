import CRANet

/// Runs `body` with the calling thread's OpenMP count at `threads`, then puts it back:
/// oneDNN fixes a primitive's thread count when it is created, so primitives are created
/// (and timed) under the count they will run with.
func withOpenMPThreads<T>(_ threads: Int, _ body: () throws -> T) rethrows -> T {
    let previous = cranet_max_threads()
    cranet_set_num_threads(Int32(threads))
    defer { cranet_set_num_threads(previous) }
    return try body()
}
