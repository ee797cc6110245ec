import CRANet
import Dispatch
import Foundation

/// A RANet ready to run: weights folded and compiled to oneDNN primitives.
///
/// Load once and call from as many threads or tasks as you like: each call borrows an
/// execution context (arena, scratchpad, bound primitives) from a pool, so concurrent
/// calls never share mutable state.
///
/// ```swift
/// let model = try RANetModel.load(from: URL(fileURLWithPath: "run-folder"))
/// let logits = try model.logits(for: images)   // exits × N × classes
/// ```
public final class RANetModel: @unchecked Sendable {
    /// How a model runs.
    public struct Options: Sendable {
        /// Threads one call may use (default: the machine's cores).
        public var threads: Int
        public init(threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
            self.threads = max(1, threads)
        }
    }

    public let config: RANetConfig
    public let network: NetworkDescription
    /// The authors' op_counter figures and parameter counts.
    public let operationCount: OperationCount
    /// Class names, preprocessing and other descriptive data carried with the weights.
    public let metadata: ModelMetadata
    public let options: Options
    /// The state_dict the model was built from (kept for ``ModelFile/write(_:to:)``).
    public let stateDict: StateDict

    let compiled: CompiledNetwork
    let fingerprintStorage: LazyFingerprint
    private let pool = NSLock()
    private var idleContexts: [ExecutionContext] = []

    /// Builds a model from a config and a state_dict, checking that they fit each other.
    public init(config: RANetConfig, stateDict: StateDict, metadata: ModelMetadata = ModelMetadata(),
                options: Options = Options()) throws {
        let network = try NetworkDescription(config: config)
        compiled = try CompiledNetwork(network: network, stateDict: stateDict)
        self.config = config
        self.network = network
        self.stateDict = stateDict
        operationCount = OperationCount(network)
        self.metadata = metadata
        self.options = options
        fingerprintStorage = LazyFingerprint { stateDict.fingerprint(config: config) }
    }

    /// Number of exits.
    public var exitCount: Int { config.exitCount }
    /// Classes of every exit.
    public var numClasses: Int { config.numClasses }
    /// The input shape of one image: 3 × size × size.
    public var imageShape: [Int] { [3, config.inputSize, config.inputSize] }

    /// Every exit's logits for a batch of images.
    ///
    /// - Parameter images: N×3×H×W with H = W = the config's input size.
    /// - Returns: exits × N × classes.
    public func logits(for images: Tensor) throws -> Tensor {
        let batch = try checkBatch(images)
        var output = Tensor(zeros: [exitCount, batch, numClasses])
        let imageFloats = imageShape.reduce(1, *)
        let failure = ErrorBox()
        images.values.withUnsafeBufferPointer { source in
            output.values.withUnsafeMutableBufferPointer { target in
                let src = source.baseAddress!, dst = target.baseAddress!
                forEachImage(batch) { context, i in
                    context.input.update(from: src + i * imageFloats, count: imageFloats)
                    try context.run()
                    for k in 0..<self.exitCount {
                        (dst + (k * batch + i) * self.numClasses).update(from: context.logits + k * self.numClasses, count: self.numClasses)
                    }
                } onError: { failure.set($0) }
            }
        }
        if let error = failure.error { throw error }
        return output
    }

    func checkBatch(_ images: Tensor) throws -> Int {
        let s = config.inputSize
        guard images.shape.count == 4, images.shape[1] == 3, images.shape[2] == s, images.shape[3] == s else {
            throw ShapeError("input has shape \(images.shape); this model takes N×3×\(s)×\(s)")
        }
        return images.shape[0]
    }

    /// Runs `body` for images 0..<count, spread over the worker threads: each worker owns
    /// one context and runs whole images single-threaded; a lone worker lets oneDNN use
    /// every thread inside each primitive instead.
    func forEachImage(_ count: Int, _ body: @escaping (ExecutionContext, Int) throws -> Void,
                      onError: @escaping (Error) -> Void) {
        guard count > 0 else { return }
        let workers = min(options.threads, count)
        let queue = WorkQueue(count: count)
        let work: (Int) -> Void = { _ in
            do {
                let context = try self.acquireContext()
                defer { self.releaseContext(context) }
                cranet_set_num_threads(Int32(workers == 1 ? self.options.threads : 1))
                cranet_flush_denormals()
                // Images are handed out one by one: with early exit they cost very different amounts.
                while let i = queue.next() { try body(context, i) }
            } catch {
                queue.stop()
                onError(error)
            }
        }
        if workers == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: work) }
    }

    private func acquireContext() throws -> ExecutionContext {
        pool.lock()
        if let context = idleContexts.popLast() {
            pool.unlock()
            return context
        }
        pool.unlock()
        return try ExecutionContext(compiled: compiled)
    }

    private func releaseContext(_ context: ExecutionContext) {
        pool.lock()
        idleContexts.append(context)
        pool.unlock()
    }
}

/// Hands out 0..<count to worker threads, one index at a time.
final class WorkQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var position = 0
    private let count: Int
    init(count: Int) { self.count = count }

    func next() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard position < count else { return nil }
        position += 1
        return position - 1
    }

    /// Ends the work early (after an error).
    func stop() {
        lock.lock()
        position = count
        lock.unlock()
    }
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
