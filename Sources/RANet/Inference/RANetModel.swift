import CRANet
import Foundation

/// A RANet ready to run: its weights checked against its config, folded and packed
/// for the kernels that run it on the first batch that needs them.
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
        /// Images the lane kernels compute side by side: 16 (AVX-512), 8 (AVX2 with FMA)
        /// or 4 (portable: SSE2 on x86-64, NEON on arm64); 1 runs every image alone. The
        /// width also picks the row kernels' instruction set, so that with
        /// ``SingleImageKernels/rows`` an image's logits are the same bits whether it runs
        /// in a group or alone. Default: the widest this CPU supports, at most the
        /// environment variable `RANET_MAX_LANES` when set (16, 8, 4, or 1).
        public var lanes: Int
        /// What computes an image that runs alone.
        public var singleImages: SingleImageKernels
        /// The arithmetic of convolutions and classifiers (default ``Precision/f32``).
        /// ``Precision/bf16`` runs on every CPU, oneDNN's layers included.
        public var precision: Precision = .f32
        /// Where ``SingleImageKernels/fastest`` keeps its measurements for the next process
        /// (nil: measure in every process).
        public var planCache: PlanCache?
        /// Called once before ``SingleImageKernels/fastest`` measures a plan (the first image
        /// alone, when no cached plan fits), with the number of layers it times: at ImageNet
        /// scale the measurement takes seconds, which a command-line tool should announce.
        public var onMeasurement: (@Sendable (_ layers: Int) -> Void)?
        /// Options for `threads` threads (default: the machine's cores), `lanes` images per
        /// lane group, the kernels that run images alone, and the plan cache.
        public init(threads: Int = ProcessInfo.processInfo.activeProcessorCount, lanes: Int = Options.defaultLanes,
                    singleImages: SingleImageKernels = .fastest,
                    planCache: PlanCache? = PlanCache(directory: PlanCache.defaultDirectory)) {
            self.threads = max(1, threads)
            self.lanes = lanes
            self.singleImages = singleImages
            self.planCache = planCache
        }

        /// The default ``lanes``: the widest width this CPU runs, at most
        /// `RANET_MAX_LANES` when set (a value other than 16, 8, 4 or 1 makes loading a
        /// model fail, naming the variable).
        public static var defaultLanes: Int { LaneWidth.defaultLanes }
    }

    /// What computes an image that runs alone: a batch smaller than a lane group
    /// (fewer images than three eighths of the lane width), or what is left after the groups.
    public enum SingleImageKernels: String, Sendable, CaseIterable {
        /// Each layer on whichever of the row kernels and oneDNN ran it faster on this CPU,
        /// timed when the model first runs an image alone (``SingleImagePlan``; cached in
        /// ``Options/planCache``). Where every layer stays in the row kernels, the same bits
        /// as ``rows``; a layer in oneDNN sums in oneDNN's order (as ``oneDNN``).
        case fastest
        /// The row kernels: the lane kernels' layout for one image, vectors along the
        /// rows of each map, and the lane kernels' arithmetic: an image alone gets the same
        /// bits as in a lane group.
        case rows
        /// oneDNN's primitives for every layer but the resizes, the intermediate kept in
        /// oneDNN's blocked layout where one convolution feeds only the next; a lone image
        /// lets oneDNN use every thread in each one. oneDNN sums in its own order: an image
        /// alone differs from the same image in a lane group in the last bits (less than
        /// 10⁻⁵ of the largest logit; 4·10⁻⁶ at most on the reference models).
        case oneDNN = "onednn"
    }

    /// The network's config.
    public let config: RANetConfig
    /// Every tensor and layer, named by the authors' state_dict keys.
    public let network: NetworkDescription
    /// The authors' op_counter figures and parameter counts.
    public let operationCount: OperationCount
    /// Class names, preprocessing and other descriptive data carried with the weights.
    public let metadata: ModelMetadata
    /// How this model runs.
    public let options: Options
    /// The state_dict the model was built from (kept for ``ModelFile/write(_:weights:to:)``). Read
    /// from a model file, its tensors are views of the file, not copies: the model's memory
    /// is its packed weights and its arenas.
    public let stateDict: StateDict

    /// Where every tensor of one image lives in an execution context's arena.
    let plan: ExecutionPlan
    /// The arena of an image alone on several threads, whose exit heads run beside the
    /// block after them (``ExitOverlap``).
    let overlappingPlan: ExecutionPlan
    /// The oneDNN network (``SingleImageKernels/oneDNN``) by the OpenMP threads its
    /// primitives are planned for, each built on the first image that needs it.
    private let oneDNNNetworks: [Int: Lazy<Result<OneDNNNetwork, Error>>]
    /// The lane program of each width used (``Options/lanes``, and 1 for the row
    /// kernels of the same instruction set), each built on the first batch that needs it.
    private let lanePrograms: [Int: Lazy<LaneProgram>]
    /// With ``SingleImageKernels/fastest``: the program of an image alone, with the plan it
    /// follows, by the OpenMP threads its oneDNN layers run on.
    let singleImagePrograms: [Int: Lazy<Result<(program: LaneProgram, plan: SingleImagePlan), Error>>]
    let fingerprintStorage: Lazy<String>
    private let pool = NSLock()
    /// By the threads their primitives are planned for.
    private var idleContexts: [Int: [OneDNNExecution]] = [:]
    /// By program and arena plan.
    private var idleLaneContexts: [LaneContextKind: [LaneExecution]] = [:]

    private struct LaneContextKind: Hashable {
        let program: ObjectIdentifier
        let overlapping: Bool
        init(_ context: LaneExecution) { self.init(program: context.program, overlapping: !context.plan.overlaps.isEmpty) }
        init(program: LaneProgram, overlapping: Bool) {
            self.program = ObjectIdentifier(program)
            self.overlapping = overlapping
        }
    }

    /// Builds a model from a config and a state_dict, checking that they fit each other.
    public init(config: RANetConfig, stateDict: StateDict, metadata: ModelMetadata = ModelMetadata(),
                options: Options = Options()) throws {
        _ = try LaneWidth.cap.get()
        guard Self.supportsLanes(options.lanes) else {
            throw EngineError(message: "\(options.lanes) lanes are not supported on this CPU (widest: \(cranet_lanes_best()); 1 turns the lane kernels off)")
        }
        let precision = options.precision
        let network = try NetworkDescription(config: config)
        try stateDict.validate(for: network)
        let plan = ExecutionPlan(network: network)
        self.plan = plan
        overlappingPlan = ExecutionPlan(network: network, overlaps: ExitOverlap.all(in: network))
        let threadCounts = Set([1, options.threads])
        oneDNNNetworks = Dictionary(uniqueKeysWithValues: threadCounts.map { threads in
            (threads, Lazy { Result { try OneDNNNetwork(network: network, stateDict: stateDict, threads: threads, precision: precision) } })
        })
        let rowWidth = LaneWidth.rowWidth(lanes: options.lanes)
        let rows = cranet_row_kernels(Int32(rowWidth), precision.bridge)!
        let groups = options.lanes > 1 ? cranet_lane_kernels(Int32(options.lanes), precision.bridge) : nil
        var programs = [1: Lazy { LaneProgram(network: network, stateDict: stateDict, kernelTable: rows) }]
        if let groups { programs[options.lanes] = Lazy { LaneProgram(network: network, stateDict: stateDict, kernelTable: groups) } }
        lanePrograms = programs
        let cache = options.planCache, lanes = options.lanes, notice = options.onMeasurement
        singleImagePrograms = Dictionary(uniqueKeysWithValues: threadCounts.map { threads in
            (threads, Lazy {
                Result {
                    // Images alone on one thread each are what a batch runs instead of lane groups: compare the two there.
                    let groupProgram = threads == 1 && lanes > 1 ? programs[lanes] : nil
                    return try Self.fastestSingleImageProgram(network: network, stateDict: stateDict, plan: plan, rowKernels: rows,
                                                              rowWidth: rowWidth, lanes: lanes, precision: precision, threads: threads, cache: cache,
                                                              groups: groupProgram, teamThreads: options.threads, notice: notice)
                }
            })
        })
        self.config = config
        self.network = network
        self.stateDict = stateDict
        operationCount = OperationCount(network)
        self.metadata = metadata
        self.options = options
        fingerprintStorage = Lazy { stateDict.fingerprint(config: config) }
    }

    /// Whether this CPU runs the lane kernels at this width (see ``Options/lanes``).
    public static func supportsLanes(_ lanes: Int) -> Bool { LaneWidth.supported(lanes) }

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
        let exits = exitCount, classes = numClasses
        try output.values.withUnsafeMutableBufferPointer { target in
            let dst = target.baseAddress!
            try runBatch(images, stages: [0..<network.layers.count], merging: false) { context, _, slot, image in
                for k in 0..<exits { context.copyLogits(slot: slot, exit: k, to: dst + (k * batch + image) * classes) }
                return true
            }
        }
        return output
    }

    func checkBatch(_ images: Tensor) throws -> Int {
        let s = config.inputSize
        guard images.shape.count == 4, images.shape[1] == 3, images.shape[2] == s, images.shape[3] == s else {
            throw ShapeError("input has shape \(images.shape); this model takes N×3×\(s)×\(s)")
        }
        return images.shape[0]
    }

    /// Threads a batch of `batch` images runs on (``Options/threads`` at most).
    public func threadsUsed(batch: Int) -> Int {
        threadsUsed(groups: imageGroups(batch: batch))
    }

    /// Workers, or for one image on a lone worker the OpenMP threads its layers share.
    private func threadsUsed(groups: [ImageGroup]) -> Int {
        let workers = workerCount(groups: groups)
        return workers == 1 && !groups.contains(where: { $0.backend.sharesPasses }) ? options.threads : workers
    }

    /// Worker threads a batch split into `groups` runs on: every thread where idle ones can
    /// help a group (``PassTeam``), else one a group.
    func workerCount(groups: [ImageGroup]) -> Int {
        groups.contains { $0.backend.sharesPasses } ? options.threads : min(options.threads, groups.count)
    }

    /// A oneDNN context whose primitives run on `threads` OpenMP threads (1 or ``Options/threads``).
    func acquireContext(threads: Int) throws -> OneDNNExecution {
        pool.lock()
        if let context = idleContexts[threads]?.popLast() {
            pool.unlock()
            return context
        }
        pool.unlock()
        return try OneDNNExecution(primitives: oneDNNNetworks[threads]!.value.get())
    }

    /// A lane context of this width (``Options/lanes``, or 1 for an image alone, whose
    /// oneDNN layers then run on `threads` OpenMP threads, and whose exit heads then
    /// overlap the blocks after them) from the pool, or a new one.
    func acquireLaneContext(lanes: Int, threads: Int = 1) throws -> LaneExecution {
        let program = try self.program(lanes: lanes, threads: threads)
        let overlapping = lanes == 1 && threads > 1
        pool.lock()
        if let context = idleLaneContexts[LaneContextKind(program: program, overlapping: overlapping)]?.popLast() {
            pool.unlock()
            return context
        }
        pool.unlock()
        return try LaneExecution(program: program, network: network, plan: overlapping ? overlappingPlan : plan)
    }

    /// The program of a lane group, or of an image alone as ``Options/singleImages`` says.
    func program(lanes: Int, threads: Int) throws -> LaneProgram {
        if lanes == 1, options.singleImages == .fastest { return try singleImagePrograms[threads]!.value.get().program }
        return lanePrograms[lanes]!.value
    }

    /// Idle lane contexts in the pool: how many a model's batches have needed at once.
    var pooledLaneContexts: Int {
        pool.lock()
        defer { pool.unlock() }
        return idleLaneContexts.values.reduce(0) { $0 + $1.count }
    }

    func release(single: OneDNNExecution? = nil, lanes laneContexts: [LaneExecution]) {
        pool.lock()
        if let single { idleContexts[single.primitives.threads, default: []].append(single) }
        for context in laneContexts { idleLaneContexts[LaneContextKind(context), default: []].append(context) }
        pool.unlock()
    }

    /// Which backend runs each layer of an image alone whose oneDNN layers get `threads`
    /// OpenMP threads (default ``Options/threads``: a batch of one). With
    /// ``SingleImageKernels/fastest`` this measures (or reads the cache) on first use.
    public func singleImagePlan(threads: Int? = nil) throws -> SingleImagePlan {
        let threads = threads.map { $0 == 1 ? 1 : options.threads } ?? options.threads
        switch options.singleImages {
        case .rows: return .forced(.rows, network: network, threads: threads, precision: options.precision)
        case .oneDNN: return .forced(.oneDNN, network: network, threads: threads, precision: options.precision)
        case .fastest: return try singleImagePrograms[threads]!.value.get().plan
        }
    }

    /// The plan of ``SingleImageKernels/fastest`` (cached, or measured and then cached) and
    /// the row program with its oneDNN layers swapped in. Runs the measurement under
    /// `threads` OpenMP threads; with `groups`, compares them with images alone, a row
    /// batch against them on `teamThreads` threads.
    private static func fastestSingleImageProgram(network: NetworkDescription, stateDict: StateDict, plan: ExecutionPlan,
                                                  rowKernels: OpaquePointer, rowWidth: Int, lanes: Int, precision: Precision, threads: Int, cache: PlanCache?,
                                                  groups: Lazy<LaneProgram>?, teamThreads: Int, notice: (@Sendable (Int) -> Void)?)
        throws -> (program: LaneProgram, plan: SingleImagePlan) {
        let key = PlanCache.key(network: network, precision: precision, rowWidth: rowWidth, lanes: lanes, threads: threads,
                                teamThreads: teamThreads)
        var chosen: SingleImagePlan
        let cached = cache?.load(key: key, network: network, precision: precision)
        if cached == nil || (groups != nil && cached?.laneGroups == nil) { notice?(network.layers.count) }
        if let cached {
            chosen = cached
        } else {
            chosen = try {
                // The probes (every candidate layer's primitive on each of oneDNN's kernels), and
                // the row kernels' copy of every layer's weights, end with this closure.
                let rows = LaneProgram(network: network, stateDict: stateDict, kernelTable: rowKernels)
                let probes = try OneDNNKernels.allCases.compactMap { kernels -> (OneDNNKernels, LaneProgram)? in
                    let layers = OneDNNLayers.candidates(network, precision: precision, kernels: kernels)
                    guard !layers.isEmpty else { return nil }
                    let primitives = try OneDNNLayers(network: network, stateDict: stateDict,
                                                      layers: Dictionary(uniqueKeysWithValues: layers.map { ($0, kernels) }),
                                                      threads: threads, precision: precision)
                    return (kernels, LaneProgram(network: network, stateDict: stateDict, kernelTable: rowKernels, oneDNN: primitives))
                }
                return try withOpenMPThreads(threads) {
                    // Timed as they will run: the row kernels on the same OpenMP threads as oneDNN.
                    let rowContext = try LaneExecution(program: rows, network: network, plan: plan)
                    rowContext.sharesOnOpenMP = threads > 1
                    let probeContexts = try probes.map { kernels, program in
                        let context = try LaneExecution(program: program, network: network, plan: plan)
                        context.sharesOnOpenMP = threads > 1
                        return (kernels: kernels, context: context)
                    }
                    return try SingleImagePlan.measure(network: network, rows: rowContext, oneDNN: probeContexts, threads: threads)
                }
            }()
        }
        let primitives = try OneDNNLayers(network: network, stateDict: stateDict, layers: chosen.oneDNNKernels, threads: threads,
                                          precision: precision)
        let program = LaneProgram(network: network, stateDict: stateDict, kernelTable: rowKernels,
                                  oneDNN: primitives.primitives.isEmpty ? nil : primitives)
        var measured = chosen.source == .measured
        if let groups, chosen.laneGroups == nil {
            measured = true
            chosen.laneGroups = try withOpenMPThreads(threads) {
                // Against images alone as a batch would run them: in a row batch of a group's width where it has one.
                let alone = try (0..<(RowBatchExecution.batchedLayers(of: program).contains(true) ? lanes : 1)).map { _ in
                    try LaneExecution(program: program, network: network, plan: plan)
                }
                return try SingleImagePlan.compare(group: LaneExecution(program: groups.value, network: network, plan: plan),
                                                   alone: alone.count > 1 ? RowBatchExecution(images: alone) : alone[0],
                                                   threads: teamThreads, network: network)
            }
        }
        if measured { cache?.store(chosen, key: key) }
        return (program, chosen.counting(reorders: primitives))
    }
}
