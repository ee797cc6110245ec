import Foundation

/// A value computed once, on first use, by whichever thread asks first: work a model
/// may never need (hashing the weights, the lane kernels' copy of them) stays off
/// loading.
final class Lazy<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var cached: Value?
    private let compute: () -> Value
    init(_ compute: @escaping () -> Value) { self.compute = compute }
    var value: Value {
        lock.lock()
        defer { lock.unlock() }
        if let cached { return cached }
        let v = compute()
        cached = v
        return v
    }
}
