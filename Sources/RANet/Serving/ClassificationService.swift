import Foundation

/// A batching front of a ``RANetModel`` for servers: concurrent `classify`
/// calls from any tasks join one batch, which runs with early exit on a thread of its own.
///
/// ```swift
/// let service = ClassificationService(model: try RANetModel.bundled(),
///                                     options: .init(maxBatch: 64, maxQueueDelay: .milliseconds(2), maxQueue: 256))
/// let prediction = try await service.classify(encoded: pngBytes, deadline: .now + .milliseconds(50))
/// ```
///
/// A batch of images computes their shared layers together (lane groups, row batches), so
/// under load each image costs less than alone; with no load, an image runs at once
/// (``Options/maxQueueDelay`` is zero by default, as Triton's). The queue is bounded: when
/// ``Options/maxQueue`` images wait, a call throws ``ServiceError/overloaded`` at once rather
/// than waiting without bound. A request whose deadline passes while it waits is dropped
/// before it runs (``ServiceError/deadlinePassed``); a cancelled task's request is dropped too.
/// Decoding and preprocessing run on the calling task, so they overlap the batch in flight.
public final class ClassificationService: @unchecked Sendable {
    /// How requests are batched and how many may wait.
    public struct Options: Sendable, Equatable {
        /// The most images one batch runs.
        public var maxBatch: Int
        /// How long the first request of a batch waits for others to join it.
        public var maxQueueDelay: Duration
        /// The most images that may wait; a request beyond them is refused at once.
        public var maxQueue: Int

        /// Options; `maxBatch` and `maxQueue` are at least 1.
        public init(maxBatch: Int = 64, maxQueueDelay: Duration = .zero, maxQueue: Int = 1024) {
            self.maxBatch = max(1, maxBatch)
            self.maxQueueDelay = maxQueueDelay
            self.maxQueue = max(1, maxQueue)
        }
    }

    /// Why a request was not classified.
    public enum ServiceError: Error, Equatable, CustomStringConvertible {
        /// The queue was full when the request came.
        case overloaded
        /// The request's deadline passed before it ran.
        case deadlinePassed
        /// The service was shut down before the request ran.
        case shutDown

        /// One line for a client.
        public var description: String {
            switch self {
            case .overloaded: "overloaded: the queue is full"
            case .deadlinePassed: "the request's deadline passed before it ran"
            case .shutDown: "the service is shutting down"
            }
        }
    }

    /// What the service has done so far.
    public struct Statistics: Sendable, Equatable {
        /// Batches run.
        public var batches = 0
        /// Images classified.
        public var images = 0
        /// Images per batch size: `batchSizes[n]` batches of n images.
        public var batchSizes: [Int: Int] = [:]
        /// Requests refused because the queue was full.
        public var overloaded = 0
        /// Requests dropped because their deadline passed.
        public var deadlinesPassed = 0
        /// Requests dropped because their task was cancelled.
        public var cancelled = 0
        /// Images that left at each exit.
        public var exits: [Int]
        /// With a ``LoadAdaptiveBudget``: the operating point in use (an index into its
        /// points, cheapest first) and the batches run at each.
        public var operatingPoint: Int?
        /// Batches run at each operating point, by index.
        public var batchesPerPoint: [Int: Int] = [:]
    }

    /// What one batch did, for metrics: reported after it ran, from the worker thread.
    public struct BatchReport: Sendable {
        /// Images in the batch.
        public let size: Int
        /// Each request's wait from its call to the batch's start, in seconds.
        public let queueSeconds: [Double]
        /// The batch's compute time, in seconds.
        public let computeSeconds: Double
        /// The exit each image left at (0-based).
        public let exits: [Int]
        /// The operating point the batch ran at, with a ``LoadAdaptiveBudget``.
        public let operatingPoint: Int?
    }

    /// The model every batch runs.
    public var model: RANetModel { batches.model }
    /// The thresholds early exit uses now (with a budget, those of its current point).
    public var thresholds: ExitThresholds { batches.currentThresholds }
    /// The batching options.
    public var options: Options { batches.options }

    /// The queue and its worker thread, which keeps them alive until it stops.
    private let batches: BatchQueue

    /// A service over `model`, with early exit at `thresholds` (the model's own by default).
    ///
    /// - Throws: ``ThresholdError`` when the thresholds do not fit the model.
    /// `observer`, when given, hears of every batch.
    public init(model: RANetModel, thresholds: ExitThresholds? = nil, options: Options = Options(),
                observer: (@Sendable (BatchReport) -> Void)? = nil) throws {
        let chosen = thresholds ?? model.defaultThresholds
        try chosen.check(for: model)
        batches = BatchQueue(model: model, thresholds: chosen, budget: nil, options: options, observer: observer)
        batches.start()
    }

    /// A service whose early-exit thresholds follow the load: each batch runs at the point
    /// `budget` chooses for the queue it sees, and a request that not even its cheapest point
    /// could serve within the latency target is refused (``ServiceError/overloaded``).
    ///
    /// - Throws: ``ThresholdError`` when a point's thresholds do not fit the model.
    public init(model: RANetModel, budget: LoadAdaptiveBudget, options: Options = Options(),
                observer: (@Sendable (BatchReport) -> Void)? = nil) throws {
        for point in budget.points { try point.check(for: model) }
        batches = BatchQueue(model: model, thresholds: budget.thresholds, budget: budget, options: options, observer: observer)
        batches.start()
    }

    deinit { batches.stop() }

    /// What the service has done so far.
    public var statistics: Statistics { batches.statistics }

    /// Images waiting for a batch now.
    public var queueDepth: Int { batches.queueDepth }

    /// Classifies one preprocessed image, 3×H×W or 1×3×H×W.
    ///
    /// - Throws: ``ServiceError`` when refused or dropped, `ShapeError` for a wrong shape,
    ///   `CancellationError` when the task is cancelled while it waits.
    public func classify(_ image: Tensor, top: Int = 1, deadline: ContinuousClock.Instant? = nil) async throws -> Prediction {
        guard image.shape == model.imageShape || image.shape == [1] + model.imageShape else {
            throw ShapeError("an image must be \(model.imageShape.map(String.init).joined(separator: "×")) for this model, got \(image.shape)")
        }
        return try await batches.enqueue(image.values, top: max(1, top), deadline: deadline)
    }

    /// Classifies a decoded image, preprocessed on the calling task as the model's pipeline says.
    public func classify(_ image: DecodedImage, top: Int = 1, deadline: ContinuousClock.Instant? = nil) async throws -> Prediction {
        let values = try model.checkedImagePipeline().tensorValues(for: image)
        return try await batches.enqueue(values, top: max(1, top), deadline: deadline)
    }

    /// Classifies encoded image bytes (any format ``DecodedImage`` reads), decoded on the calling task.
    public func classify(encoded data: Data, top: Int = 1, deadline: ContinuousClock.Instant? = nil) async throws -> Prediction {
        try await classify(DecodedImage(encoded: data), top: top, deadline: deadline)
    }

    /// Stops taking requests, lets every accepted request finish, and returns when the
    /// worker has stopped.
    public func shutdown() async {
        batches.stop()
        while !batches.isStopped {
            try? await Task.sleep(for: .milliseconds(1))
        }
    }
}

/// The requests waiting for a batch, and the thread that runs them.
private final class BatchQueue: @unchecked Sendable {
    let model: RANetModel
    let options: ClassificationService.Options
    private let fixedThresholds: ExitThresholds
    private var budget: LoadAdaptiveBudget?
    private let observer: (@Sendable (ClassificationService.BatchReport) -> Void)?
    private let condition = NSCondition()
    private var queue: [Request] = []
    private var nextID = 0
    private var stopping = false
    private var stopped = false
    private var stats: ClassificationService.Statistics
    /// Requests that came (taken or refused) since the rate was last estimated, and when.
    private var arrivals = 0
    private var arrivalsSince = ContinuousClock.now
    /// Requests per second, a moving average with a time constant of a quarter second:
    /// long enough to smooth Poisson arrivals, short enough to follow a step within it.
    private var arrivalRate = 0.0

    private struct Request {
        let id: Int
        let values: [Float]
        let top: Int
        let deadline: ContinuousClock.Instant?
        let enqueued: ContinuousClock.Instant
        let continuation: CheckedContinuation<Prediction, Error>
    }

    init(model: RANetModel, thresholds: ExitThresholds, budget: LoadAdaptiveBudget?, options: ClassificationService.Options,
         observer: (@Sendable (ClassificationService.BatchReport) -> Void)?) {
        self.model = model
        self.observer = observer
        fixedThresholds = thresholds
        self.budget = budget
        self.options = options
        stats = ClassificationService.Statistics(exits: [Int](repeating: 0, count: model.exitCount), operatingPoint: budget?.current)
    }

    var currentThresholds: ExitThresholds { condition.withLock { budget?.thresholds ?? fixedThresholds } }

    func start() {
        let thread = Thread { self.runBatches() }
        thread.name = "ranet-service"
        thread.stackSize = 8 << 20
        thread.start()
    }

    func stop() {
        condition.withLock {
            stopping = true
            condition.broadcast()
        }
    }

    var isStopped: Bool { condition.withLock { stopped } }
    var statistics: ClassificationService.Statistics { condition.withLock { stats } }
    var queueDepth: Int { condition.withLock { queue.count } }

    typealias ServiceError = ClassificationService.ServiceError

    func enqueue(_ values: [Float], top: Int, deadline: ContinuousClock.Instant?) async throws -> Prediction {
        let id = condition.withLock { () -> Int in
            nextID += 1
            return nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Prediction, Error>) in
                let refusal: Error? = condition.withLock {
                    arrivals += 1
                    if stopping { return ServiceError.shutDown }
                    if Task.isCancelled {
                        stats.cancelled += 1
                        return CancellationError()
                    }
                    if queue.count >= options.maxQueue || budget?.shouldShed(waiting: queue.count) == true {
                        stats.overloaded += 1
                        return ServiceError.overloaded
                    }
                    queue.append(Request(id: id, values: values, top: top, deadline: deadline, enqueued: .now, continuation: continuation))
                    condition.broadcast()
                    return nil
                }
                if let refusal { continuation.resume(throwing: refusal) }
            }
        } onCancel: {
            let dropped: Request? = condition.withLock {
                guard let index = queue.firstIndex(where: { $0.id == id }) else { return nil }
                stats.cancelled += 1
                return queue.remove(at: index)
            }
            dropped?.continuation.resume(throwing: CancellationError())
        }
    }

    /// The worker: waits for requests, gathers a batch, drops what expired, runs the rest.
    private func runBatches() {
        while true {
            condition.lock()
            while queue.isEmpty && !stopping { condition.wait() }
            if queue.isEmpty && stopping {
                stopped = true
                condition.unlock()
                return
            }
            // The first request waits up to maxQueueDelay for others to fill the batch.
            if options.maxQueueDelay > .zero && queue.count < options.maxBatch && !stopping {
                let until = Date().addingTimeInterval(options.maxQueueDelay.seconds)
                while queue.count < options.maxBatch && !stopping && condition.wait(until: until) {}
            }
            let taken = Array(queue.prefix(options.maxBatch))
            queue.removeFirst(taken.count)
            let now = ContinuousClock.now
            let expired = taken.filter { $0.deadline.map { $0 <= now } ?? false }
            let batch = taken.filter { $0.deadline.map { $0 > now } ?? true }
            stats.deadlinesPassed += expired.count
            let elapsed = (now - arrivalsSince).seconds
            if elapsed >= 0.005 {
                let weight = 1 - exp(-elapsed / 0.25)
                arrivalRate += weight * (Double(arrivals) / elapsed - arrivalRate)
                arrivals = 0
                arrivalsSince = now
            }
            let thresholds = budget?.choose(waiting: queue.count + batch.count, arrivalRate: arrivalRate) ?? fixedThresholds
            condition.unlock()
            for request in expired { request.continuation.resume(throwing: ServiceError.deadlinePassed) }
            guard !batch.isEmpty else { continue }
            run(batch, thresholds: thresholds)
        }
    }

    private func run(_ batch: [Request], thresholds: ExitThresholds) {
        let top = batch.map(\.top).max()!
        let start = ContinuousClock.now
        let result = Result { () throws -> [Prediction] in
            let images = try Tensor(shape: [batch.count] + model.imageShape, values: batch.flatMap(\.values))
            return try model.classify(images, thresholds: thresholds, top: min(top, model.numClasses))
        }
        let elapsed = ContinuousClock.now - start
        var point: Int?
        condition.withLock {
            stats.batches += 1
            stats.batchSizes[batch.count, default: 0] += 1
            if let point = budget?.current {
                stats.batchesPerPoint[point, default: 0] += 1
            }
            if case .success(let predictions) = result {
                stats.images += predictions.count
                for p in predictions { stats.exits[p.exit] += 1 }
                budget?.record(operations: predictions.reduce(0) { $0 + $1.operations }, seconds: elapsed.seconds)
            }
            point = budget?.current
            stats.operatingPoint = point
        }
        if let observer, case .success(let predictions) = result {
            observer(ClassificationService.BatchReport(size: batch.count, queueSeconds: batch.map { (start - $0.enqueued).seconds },
                                                       computeSeconds: elapsed.seconds, exits: predictions.map(\.exit), operatingPoint: point))
        }
        switch result {
        case .success(let predictions):
            for (request, prediction) in zip(batch, predictions) {
                request.continuation.resume(returning: prediction.keepingTop(request.top))
            }
        case .failure(let error):
            for request in batch { request.continuation.resume(throwing: error) }
        }
    }
}

extension Prediction {
    /// The same prediction listing at most `count` classes.
    func keepingTop(_ count: Int) -> Prediction {
        Prediction(top: Array(top.prefix(max(1, count))), exit: exit, operations: operations)
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
