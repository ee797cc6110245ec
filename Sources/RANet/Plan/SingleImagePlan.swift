import CRANet
import Dispatch
import Foundation

/// Which backend runs each layer of an image that runs alone, and why.
///
/// An image alone is plain [C][H][W] in the row kernels, which is oneDNN's NCHW at batch
/// 1, so each layer can run either without a reorder between them. With
/// ``RANetModel/SingleImageKernels/fastest`` the first image that runs alone times both on
/// every layer (a few milliseconds each) and keeps the faster: the row kernels win on
/// RANet's narrow layers and small maps, oneDNN's JIT kernels on wide ImageNet layers. In
/// bf16 a layer with weights is timed on both of oneDNN's arithmetics (``Backend/oneDNNF32``).
/// The choice is cached on disk (``PlanCache``), so the next process starts with it.
///
/// ```swift
/// let plan = try model.singleImagePlan()
/// for layer in plan.layers where layer.backend == .oneDNN { print(layer.name) }
/// ```
public struct SingleImagePlan: Sendable, Equatable {
    /// What runs a layer.
    public enum Backend: String, Sendable {
        /// The project's row kernels.
        case rows
        /// A oneDNN primitive at the model's precision: its f32 kernels in f32, its bf16
        /// kernels in bf16 (AVX-512 only), and its poolings in either.
        case oneDNN = "onednn"
        /// oneDNN's f32 kernels on bf16 values (bf16 plans, layers with weights): the weights
        /// rounded before oneDNN packs them, the output rounded after it runs. bf16's
        /// arithmetic on every CPU, and faster than oneDNN's bf16 kernels where a CPU's bf16
        /// dot products issue at half the rate of its f32 multiply-adds.
        case oneDNNF32 = "onednn-f32"

        /// The oneDNN kernels it runs a layer with weights on (nil: the row kernels).
        var oneDNNKernels: OneDNNKernels? {
            switch self {
            case .rows: nil
            case .oneDNN: .native
            case .oneDNNF32: .f32OnBF16
            }
        }

        init(_ kernels: OneDNNKernels) { self = kernels == .native ? .oneDNN : .oneDNNF32 }
    }

    /// How the plan was made.
    public enum Source: String, Sendable {
        /// Timed on this CPU when the model first ran an image alone.
        case measured
        /// Read from the plan cache, where an earlier measurement left it.
        case cached
        /// Set by ``RANetModel/Options/singleImages`` (`.rows` or `.oneDNN`).
        case forced
    }

    /// One layer's backend and what it cost on each.
    public struct LayerChoice: Sendable, Equatable {
        /// The layer's name: its state_dict key where it has weights.
        public let name: String
        /// What runs it.
        public let backend: Backend
        /// Milliseconds it took in the row kernels (nil when not measured).
        public let rowsMilliseconds: Double?
        /// Milliseconds it took in oneDNN at the model's precision (nil when not measured, or
        /// oneDNN cannot run it).
        public let oneDNNMilliseconds: Double?
        /// Milliseconds it took on oneDNN's f32 kernels on bf16 values (bf16 plans; nil when
        /// not measured).
        public var oneDNNF32Milliseconds: Double? = nil
        /// Milliseconds it took on the backend that runs it (nil when not measured).
        public var chosenMilliseconds: Double? {
            switch backend {
            case .rows: rowsMilliseconds
            case .oneDNN: oneDNNMilliseconds
            case .oneDNNF32: oneDNNF32Milliseconds
            }
        }
        /// Layout reorders it runs each time: oneDNN's primitive computes a convolution in
        /// the blocked layout its fastest kernels want and reorders from and to the plain
        /// NCHW that both backends read (0–2); 0 in the row kernels. Nil where not known
        /// (every layer forced onto oneDNN, whose network keeps chains blocked between them).
        public internal(set) var reorders: Int? = nil
    }

    /// A whole pass of one thread through a full lane group against images alone, per
    /// image: whether a batch goes in lane groups at all. Wide ImageNet layers run faster
    /// one image at a time, oneDNN's kernels included, than in the lane kernels; RANet's
    /// narrow CIFAR layers the other way round.
    public struct LaneGroupComparison: Sendable, Equatable {
        /// The lane width compared.
        public let lanes: Int
        /// Milliseconds per image in a full lane group.
        public let groupMillisecondsPerImage: Double
        /// Milliseconds per image alone, through this plan's backends (run `lanes` together
        /// where the row program has layers a row batch runs for all its images at once).
        public let aloneMilliseconds: Double
        /// Whether batches go in lane groups (their images alone otherwise).
        public var prefersLaneGroups: Bool { groupMillisecondsPerImage <= aloneMilliseconds }
    }

    /// Every layer, in execution order.
    public private(set) var layers: [LayerChoice]
    /// OpenMP threads oneDNN's layers run on (the row kernels of a lone image run on one).
    public let threads: Int
    /// How the plan was made.
    public let source: Source
    /// For the plan of images alone on one thread each, with lanes wider than 1: lane
    /// groups against images alone (nil otherwise, or when forced).
    public var laneGroups: LaneGroupComparison?

    init(layers: [LayerChoice], threads: Int, source: Source, laneGroups: LaneGroupComparison? = nil) {
        self.layers = layers
        self.threads = threads
        self.source = source
        self.laneGroups = laneGroups
    }

    /// How many layers each backend runs.
    public func count(_ backend: Backend) -> Int { layers.filter { $0.backend == backend }.count }

    /// Layout reorders an image alone runs, all inside oneDNN's layers: between a row-kernel
    /// layer and a oneDNN one there are none, as both read NCHW. Nil where not known.
    public var reorders: Int? {
        var total = 0
        for layer in layers {
            guard let count = layer.reorders else { return nil }
            total += count
        }
        return total
    }

    /// This plan with each layer's reorders as the primitives that run it report them
    /// (`oneDNN` holds the primitives of this plan's oneDNN layers only).
    func counting(reorders oneDNN: OneDNNLayers?) -> SingleImagePlan {
        var plan = self
        for i in plan.layers.indices { plan.layers[i].reorders = oneDNN?.reorders(layer: i) ?? 0 }
        return plan
    }

    /// oneDNN runs a layer when it took at most this fraction of the row kernels' time: a
    /// margin against timing noise, which keeps the row kernels (the same bits as in a lane
    /// group) on layers where the two are close.
    static let oneDNNAdvantage = 0.9

    /// Every layer in the row kernels, or every layer oneDNN runs on oneDNN, on the kernels
    /// of ``OneDNNKernels/unmeasured(_:)`` (it cannot run resizes: those stay in the row kernels).
    static func forced(_ backend: Backend, network: NetworkDescription, threads: Int, precision: Precision) -> SingleImagePlan {
        let kernels = OneDNNKernels.unmeasured(precision)
        let weighted = Set(OneDNNLayers.candidates(network, precision: precision, kernels: kernels))
        let poolings = Set(OneDNNLayers.candidates(network, precision: precision, kernels: .native))
        return SingleImagePlan(layers: network.layers.indices.map { i in
            let runs: Backend = backend == .rows ? .rows : weighted.contains(i) ? Backend(kernels) : poolings.contains(i) ? .oneDNN : .rows
            return LayerChoice(name: name(of: network.layers[i]), backend: runs, rowsMilliseconds: nil, oneDNNMilliseconds: nil,
                               reorders: runs == .rows ? 0 : nil)
        }, threads: threads, source: .forced)
    }

    /// A layer's name for reports: the state_dict key of its weights, or what it is.
    static func name(of layer: Layer) -> String {
        switch layer.operation {
        case .conv(let unit): return unit.convKey
        case .linear(let key, _): return key
        case .maxPool: return "max pool"
        case .avgPool: return "average pool"
        case .resize: return "resize"
        }
    }

    /// The oneDNN kernels of each layer the plan gives to oneDNN.
    var oneDNNKernels: [Int: OneDNNKernels] {
        var kernels: [Int: OneDNNKernels] = [:]
        for (i, layer) in layers.enumerated() { kernels[i] = layer.backend.oneDNNKernels }
        return kernels
    }

    /// Times every layer oneDNN can run in the row kernels and on each of oneDNN's kernels
    /// on one synthetic image, and keeps the fastest. `rows` runs every layer in the row
    /// kernels; each of `oneDNN` runs every layer it has a primitive for on its kernels
    /// (planned for `threads`). The caller runs this on a thread whose OpenMP count is `threads`.
    static func measure(network: NetworkDescription, rows: LaneExecution, oneDNN: [(kernels: OneDNNKernels, context: LaneExecution)],
                        threads: Int) throws -> SingleImagePlan {
        try probeImage(network).withUnsafeBufferPointer { p in
            for context in [rows] + oneDNN.map(\.context) {
                context.load([p.baseAddress!])
                try context.run()
                try context.run()
            }
        }
        var layers: [LayerChoice] = []
        for (i, layer) in network.layers.enumerated() {
            // The probes with a primitive for this layer: the candidates of their kernels.
            let probes = oneDNN.filter { $0.context.program.oneDNN?.primitives[i] != nil }
            guard !probes.isEmpty else {
                layers.append(LayerChoice(name: name(of: layer), backend: .rows, rowsMilliseconds: nil, oneDNNMilliseconds: nil))
                continue
            }
            // Repeats enough to fill about 2 ms per round (at least 2); two alternating rounds.
            let first = try time(rows, layers: i..<(i + 1), repeats: 1)
            let repeats = max(2, min(20, Int(2.0 / max(first, 1e-4))))
            var rowsBest = Double.infinity
            var best = [OneDNNKernels: Double]()
            for _ in 0..<2 {
                rowsBest = min(rowsBest, try time(rows, layers: i..<(i + 1), repeats: repeats))
                for probe in probes {
                    best[probe.kernels] = min(best[probe.kernels] ?? .infinity, try time(probe.context, layers: i..<(i + 1), repeats: repeats))
                }
            }
            let fastest = best.min { $0.value < $1.value }!
            var choice = LayerChoice(name: name(of: layer),
                                     backend: fastest.value <= oneDNNAdvantage * rowsBest ? Backend(fastest.key) : .rows,
                                     rowsMilliseconds: rowsBest, oneDNNMilliseconds: best[.native])
            choice.oneDNNF32Milliseconds = best[.f32OnBF16]
            layers.append(choice)
        }
        return SingleImagePlan(layers: layers, threads: threads, source: .measured)
    }

    /// Times a whole pass of a full lane group (`group`) and of images alone (`alone`, this
    /// plan's program: an image, or a row batch of a group's width), the fastest of
    /// alternating rounds after a warm-up. On one thread each, as a batch runs groups and
    /// images alone side by side, one per worker; a row batch against a lane group on
    /// `threads` threads, both shared through a ``PassTeam`` as a batch shares them.
    static func compare(group: LaneExecution, alone: GroupExecution & SharedPasses, threads: Int,
                        network: NetworkDescription) throws -> LaneGroupComparison {
        let threads = alone is RowBatchExecution ? threads : 1
        var best = (group: Double.infinity, alone: Double.infinity)
        try probeImage(network).withUnsafeBufferPointer { p in
            group.load([UnsafePointer<Float>](repeating: p.baseAddress!, count: group.capacity))
            alone.load([UnsafePointer<Float>](repeating: p.baseAddress!, count: alone.capacity))
            try group.run()
            try alone.run()
            // The fastest of alternating rounds: at least three, and until each side has run
            // for 30 ms (at most 20 rounds). Two rounds of a few milliseconds were once both
            // caught by another process's burst, and the cached verdict outlived it.
            var spent = (group: 0.0, alone: 0.0)
            for round in 0..<20 {
                if round >= 3 && spent.group >= 30 && spent.alone >= 30 { break }
                let g = try time(group, threads: threads)
                let a = try time(alone, threads: threads)
                best = (min(best.group, g), min(best.alone, a))
                spent = (spent.group + g, spent.alone + a)
            }
        }
        return LaneGroupComparison(lanes: group.capacity, groupMillisecondsPerImage: best.group / Double(group.capacity),
                                   aloneMilliseconds: best.alone / Double(alone.capacity))
    }

    /// Milliseconds of one whole pass of `context` on `threads` threads: the caller runs it,
    /// the others help through a team.
    private static func time(_ context: GroupExecution & SharedPasses, threads: Int) throws -> Double {
        guard threads > 1 else { return try time(context, layers: 0..<context.layerCount, repeats: 1) }
        let team = PassTeam(shares: 2 * threads), running = Counter(1), failure = ErrorBox()
        context.team = team
        defer { context.team = nil }
        var milliseconds = 0.0
        runOnWorkers(threads, openMPThreads: 1) { worker in
            guard worker == 0 else {
                var idle = 0
                while running.value > 0 { team.helpOrWait(idle: &idle) }
                return
            }
            defer { running.decrement() }
            do { milliseconds = try time(context, layers: 0..<context.layerCount, repeats: 1) } catch { failure.set(error) }
        }
        if let error = failure.error { throw error }
        return milliseconds
    }

    /// The synthetic image the timings run on: values of a normalized image's range (any
    /// finite input times the same).
    private static func probeImage(_ network: NetworkDescription) -> [Float] {
        (0..<network.tensors[network.inputTensor].elementCount).map { Float(sin(Double($0) * 0.37) * 1.5) }
    }

    /// The fastest of `repeats` runs of some layers, in milliseconds.
    private static func time(_ context: GroupExecution, layers: Range<Int>, repeats: Int) throws -> Double {
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            try context.run(layers: layers)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        return best
    }
}
