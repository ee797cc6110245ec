import CRANet
import Foundation

/// Everything one thread needs to run the network on a group of images at once
/// through the lane kernels: the plan's arena with every float widened to a vector of
/// ``LaneProgram/lanes`` floats (one per image), and each layer's call with its
/// pointers resolved. Used by one thread at a time.
final class LaneExecution: GroupExecution, SharedPasses {
    private struct Step {
        let kernel: LaneProgram.Kernel
        let source: UnsafeMutablePointer<Float>
        let target: UnsafeMutablePointer<Float>
        let from: cranet_shape
        let to: cranet_shape

        /// How a convolution whose input is staged first (`cranet_lane_stage`) stages it.
        var staging: StagedInputs.Staging? {
            guard case let .conv(_, _, _, stride, padding, _, layout) = kernel, layout.staged != 0 else { return nil }
            return StagedInputs.Staging(padding: padding, stride: stride, paired: layout.paired != 0, floats: layout.staged_floats)
        }
    }

    /// The unit of work threads share (``PassTeam``): a layer, or the staging of a
    /// convolution's input before it, each cut into pieces.
    private enum Pass {
        case stage(step: Int)
        case layer(step: Int)
    }

    let program: LaneProgram
    let plan: ExecutionPlan
    private let network: NetworkDescription
    private let arena: UnsafeMutablePointer<Float>
    /// Where convolutions' staged inputs go.
    private let scratch: UnsafeMutablePointer<Float>
    /// Staged inputs kept from one convolution to the next, in an arena of their own.
    let stagedInputs: StagedInputs
    private let stagedArena: UnsafeMutablePointer<Float>?
    /// With a plan whose exit heads overlap the next block (``ExecutionPlan/overlaps``):
    /// the heads' layers, which stage into a scratch of their own and run their oneDNN
    /// primitives on a stream and scratchpad of their own.
    private let headLayer: [Bool]
    private let headScratch: UnsafeMutablePointer<Float>?
    private var headStream: OpaquePointer?
    private var headScratchpad: UnsafeMutableRawPointer?
    /// Work from which ``isShareable(pass:)`` shares a pass: ``shareableWork``, or
    /// ``openMPShareableWork`` while a head overlaps its block.
    private var shareableFrom = LaneExecution.shareableWork
    /// Threads that may help run this group (nil: it runs alone).
    var team: PassTeam?
    /// Without a team: whether the larger passes are cut into parts on the calling
    /// thread's OpenMP team. An image alone on a lone worker gives its row-kernel layers
    /// the threads its oneDNN layers use, from the same team, which is already awake.
    var sharesOnOpenMP = false
    private let steps: [Step]
    private let passes: [Pass]
    /// Per pass, the work it does for the whole group (``work(of:)``), against which
    /// ``shareableWork`` and ``openMPShareableWork`` decide whether it is worth cutting
    /// into pieces: small ones cost less alone than the hand-over between threads. Zero
    /// for a oneDNN primitive, which shares its work on OpenMP's threads, never on the team's.
    private let passWork: [Int]
    /// Per layer, the index of its first pass (and the pass count at the end).
    private let firstPass: [Int]
    private let input: UnsafeMutablePointer<Float>
    private let logits: UnsafeMutablePointer<Float>
    /// For layers oneDNN runs: a stream, a scratchpad, and each primitive bound to its
    /// slices of the arena (by layer).
    private var stream: OpaquePointer?
    private var oneDNNScratchpad: UnsafeMutableRawPointer?
    private var bound: [Int: OpaquePointer] = [:]
    /// A oneDNN layer's failure, thrown by ``run(layers:)`` once its passes are done.
    private var failure = ErrorBox()

    init(program: LaneProgram, network: NetworkDescription, plan: ExecutionPlan) throws {
        self.program = program
        self.plan = plan
        self.network = network
        let lanes = program.lanes
        let overread = cranet_lane_overread_floats(program.kernelTable)
        let floats = max(plan.arenaFloats, 1) * lanes + overread
        let raw = UnsafeMutableRawPointer.allocate(byteCount: floats * 4, alignment: 64)
        let arena = raw.initializeMemory(as: Float.self, repeating: 0, count: floats)
        let steps = zip(network.layers, program.kernels).map { layer, kernel in
            func shape(_ s: TensorSlice) -> cranet_shape {
                let (c, h, w) = network.shape(of: s)
                return cranet_shape(channels: Int32(c), height: Int32(h), width: Int32(w))
            }
            return Step(kernel: kernel,
                        source: arena + plan.offset(of: layer.input, in: network) * lanes,
                        target: arena + plan.offset(of: layer.output, in: network) * lanes,
                        from: shape(layer.input), to: shape(layer.output))
        }
        var headLayer = [Bool](repeating: false, count: steps.count)
        for overlap in plan.overlaps { for i in overlap.head { headLayer[i] = true } }
        self.headLayer = headLayer
        // Only an image alone keeps staged inputs: a lane group hands its images to another
        // group between early exit's stages (``takeImages(from:sources:state:)`` copies tensors).
        let stagedInputs = StagedInputs(network: network, staging: steps.map { lanes == 1 ? $0.staging : nil }, excluded: headLayer)
        var passes: [Pass] = [], firstPass: [Int] = [], passWork: [Int] = [], scratchFloats = 0
        for (i, step) in steps.enumerated() {
            firstPass.append(passes.count)
            if let staging = step.staging {
                if stagedInputs.slots[i] == nil { scratchFloats = max(scratchFloats, staging.floats) }
                passes.append(.stage(step: i))
                let planes = staging.planes(Int(step.from.channels))
                passWork.append(staging.floats / planes * (planes - (stagedInputs.slots[i]?.firstPlane ?? 0)))
            }
            passes.append(.layer(step: i))
            if case .primitive = step.kernel { passWork.append(0) } else { passWork.append(Self.work(of: step) * lanes) }
        }
        firstPass.append(passes.count)
        self.passWork = passWork
        func scratchBuffer() -> UnsafeMutablePointer<Float> {
            UnsafeMutableRawPointer.allocate(byteCount: (scratchFloats + overread) * 4, alignment: 64)
                .bindMemory(to: Float.self, capacity: scratchFloats + overread)
        }
        scratch = scratchBuffer()
        self.stagedInputs = stagedInputs
        stagedArena = stagedInputs.floats == 0 ? nil : UnsafeMutableRawPointer.allocate(byteCount: (stagedInputs.floats + overread) * 4, alignment: 64)
            .initializeMemory(as: Float.self, repeating: 0, count: stagedInputs.floats + overread)
        headScratch = plan.overlaps.isEmpty ? nil : scratchBuffer()
        self.arena = arena
        self.steps = steps
        self.passes = passes
        self.firstPass = firstPass
        input = arena + plan.tensorOffsets[network.inputTensor] * lanes
        logits = arena + plan.tensorOffsets[network.logitsTensor] * lanes
        // Fully initialized from here: if binding fails, deinit releases what was made.
        guard let oneDNN = program.oneDNN, !oneDNN.primitives.isEmpty else { return }
        let bytes = oneDNN.scratchpadBytes
        oneDNNScratchpad = bytes > 0 ? .allocate(byteCount: bytes, alignment: 64) : nil
        try bridgeCall { cranet_stream_create(oneDNN.engine, &stream, $0, $1) }
        if !plan.overlaps.isEmpty {
            headScratchpad = bytes > 0 ? .allocate(byteCount: bytes, alignment: 64) : nil
            try bridgeCall { cranet_stream_create(oneDNN.engine, &headStream, $0, $1) }
        }
        for (i, step) in steps.enumerated() {
            guard case .primitive(let op) = step.kernel else { continue }
            var binding: OpaquePointer?
            let scratchpad = headLayer[i] ? headScratchpad : oneDNNScratchpad
            try bridgeCall { cranet_op_bind(op, step.source, step.target, scratchpad, &binding, $0, $1) }
            bound[i] = binding!
        }
    }

    /// Multiply-adds (or floats moved) from which a pass is shared between a team's threads.
    static let shareableWork = 65536
    /// The same for an image alone on OpenMP's threads (``sharesOnOpenMP``): a layer of one
    /// image is far smaller than a group's, and below about a million multiply-adds two
    /// threads on one layer were no faster than one (Fashion-MNIST and cifar-c1 at batch 1),
    /// while above it imagenet-1's layers ran 1.35× faster in the row kernels.
    static let openMPShareableWork = 1 << 20

    /// Whether a team's threads share this pass (``PassTeam``).
    func isShareable(pass: Int) -> Bool { passWork[pass] >= shareableFrom }

    /// A layer's work per image: multiply-adds of a convolution, floats written otherwise
    /// (a staging pass's work is the floats it writes, for the whole group).
    private static func work(of step: Step) -> Int {
        let (from, to) = (step.from, step.to)
        let written = Int(to.channels) * Int(to.height) * Int(to.width)
        if case let .conv(_, _, kernel, _, _, _, _) = step.kernel { return written * Int(from.channels) * kernel * kernel }
        return written
    }

    deinit {
        bound.values.forEach { cranet_bound_op_destroy($0) }
        if let stream { cranet_stream_destroy(stream) }
        if let headStream { cranet_stream_destroy(headStream) }
        oneDNNScratchpad?.deallocate()
        headScratchpad?.deallocate()
        arena.deallocate()
        scratch.deallocate()
        stagedArena?.deallocate()
        headScratch?.deallocate()
    }

    var capacity: Int { program.lanes }
    var layerCount: Int { steps.count }

    func load(_ images: [UnsafePointer<Float>]) {
        let floats = network.tensors[network.inputTensor].elementCount
        images.map { Optional($0) }.withUnsafeBufferPointer {
            cranet_lane_load(program.kernelTable, $0.baseAddress!, Int32(images.count), floats, input)
        }
    }

    func copyLogits(slot: Int, exit: Int, to target: UnsafeMutablePointer<Float>) {
        let classes = network.config.numClasses
        cranet_lane_unpack(Int32(program.lanes), logits + exit * classes * program.lanes, classes, Int32(slot), target)
    }

    /// Copies images from `other` into this context's lanes: `sources[l]` is the lane
    /// of `other` whose image goes to lane l, or -1 to leave lane l alone. Only `state`
    /// (see ``ExecutionPlan/liveState(after:in:)``) is copied: all an image needs to go on.
    func takeImages(from other: LaneExecution, sources: [Int32], state: [(tensor: Int, floats: Int)]) {
        for (t, floats) in state {
            let offset = plan.tensorOffsets[t] * program.lanes
            cranet_lane_gather(Int32(program.lanes), other.arena + offset, sources, arena + offset, floats)
        }
    }

    func run(layers: Range<Int>) throws {
        var position = layers.lowerBound
        if team == nil && sharesOnOpenMP {
            for overlap in plan.overlaps where overlap.head.lowerBound >= position && overlap.block.upperBound <= layers.upperBound {
                runPasses(of: position..<overlap.head.lowerBound)
                runOverlapped(overlap)
                position = overlap.block.upperBound
            }
        }
        runPasses(of: position..<layers.upperBound)
        if let error = failure.error {
            failure = ErrorBox()
            throw error
        }
    }

    private func passes(of layers: Range<Int>) -> Range<Int> { firstPass[layers.lowerBound]..<firstPass[layers.upperBound] }

    private func runPasses(of layers: Range<Int>) {
        let passes = passes(of: layers)
        if let team {
            team.run(self, passes: passes)
        } else if sharesOnOpenMP {
            for pass in passes {
                if passWork[pass] >= Self.openMPShareableWork { runOnOpenMPTeam(pass: pass) } else { runShare(pass: pass, part: 0, parts: 1) }
            }
        } else {
            for pass in passes { runShare(pass: pass, part: 0, parts: 1) }
        }
    }

    /// Runs an exit's head on one thread of the calling thread's OpenMP team while another
    /// runs the block after it, each sharing its larger layers (``PassTeam``): whichever
    /// finishes first helps with the other, as the team's further threads do from the start.
    private func runOverlapped(_ overlap: ExitOverlap) {
        typealias Side = (passes: Range<Int>, team: PassTeam, running: Counter)
        typealias Job = (context: Unmanaged<LaneExecution>, sides: [Side])
        let shares = 2 * Int(cranet_max_threads())
        var job: Job = (Unmanaged.passUnretained(self), [
            (passes(of: overlap.block), PassTeam(shares: shares), Counter(1)),
            (passes(of: overlap.head.lowerBound..<(overlap.head.upperBound + 1)), PassTeam(shares: shares), Counter(1)),
        ])
        shareableFrom = Self.openMPShareableWork
        defer { shareableFrom = Self.shareableWork }
        withUnsafeMutablePointer(to: &job) { pointer in
            cranet_parallel({ raw, part, parts in
                let job = raw!.assumingMemoryBound(to: Job.self).pointee
                let context = job.context.takeUnretainedValue()
                if parts == 1 {
                    for side in job.sides { for pass in side.passes { context.runShare(pass: pass, part: 0, parts: 1) } }
                    return
                }
                if part < 2 {
                    let side = job.sides[Int(part)]
                    side.team.run(context, passes: side.passes)
                    side.running.decrement()
                }
                var idle = 0
                while job.sides.contains(where: { $0.running.value > 0 }) {
                    if !job.sides.contains(where: { $0.running.value > 0 && $0.team.help() }) {
                        idle += 1
                        if idle < 4096 { cranet_spin_pause(32) } else { sched_yield() }
                    } else {
                        idle = 0
                    }
                }
            }, pointer)
        }
    }

    /// Stages convolution `layer`'s input where its kernel reads it staged (a no-op where
    /// it reads the arena in place): the first half of ``convolutionOperands(layer:)``.
    func stageInput(layer: Int) {
        if steps[layer].staging != nil { runShare(pass: firstPass[layer], part: 0, parts: 1) }
    }

    /// Where convolution `layer` reads (its staged input, once ``stageInput(layer:)`` has
    /// run) and writes: what ``RowBatchExecution`` hands the row kernels for several
    /// images at once.
    func convolutionOperands(layer: Int) -> (source: UnsafePointer<Float>, target: UnsafeMutablePointer<Float>, output: cranet_shape) {
        let step = steps[layer]
        return (UnsafePointer(step.staging != nil ? scratch(of: layer) : step.source), step.target, step.to)
    }

    /// Where layer `i`'s input is staged: its chain's buffer (``StagedInputs``), or a
    /// head's own scratch while it may overlap a block, or the shared scratch.
    private func scratch(of i: Int) -> UnsafeMutablePointer<Float> {
        if let slot = stagedInputs.slots[i] { return stagedArena! + slot.offset }
        return headLayer[i] ? headScratch! : scratch
    }

    /// Runs one pass in as many parts as the calling thread's OpenMP team has threads.
    private func runOnOpenMPTeam(pass: Int) {
        typealias Job = (context: Unmanaged<LaneExecution>, pass: Int)
        var job: Job = (Unmanaged.passUnretained(self), pass)
        withUnsafeMutablePointer(to: &job) { pointer in
            cranet_parallel({ raw, part, parts in
                let job = raw!.assumingMemoryBound(to: Job.self).pointee
                job.context.takeUnretainedValue().runShare(pass: job.pass, part: Int(part), parts: Int(parts))
            }, pointer)
        }
    }

    /// Computes share `part` of `parts` of one pass (see ``PassTeam``).
    func runShare(pass: Int, part: Int, parts: Int) {
        let table = program.kernelTable, (part, parts) = (Int32(part), Int32(parts))
        switch passes[pass] {
        case .stage(let i):
            let step = steps[i]
            guard let staging = step.staging else { return }
            cranet_lane_stage(table, step.source, step.from, Int32(staging.padding), Int32(staging.stride), staging.paired ? 1 : 0,
                              scratch(of: i), Int32(stagedInputs.slots[i]?.firstPlane ?? 0), part, parts)
        case .layer(let i):
            let step = steps[i]
            program.parameters.withUnsafeBufferPointer { parameters in
                let p = parameters.baseAddress!
                switch step.kernel {
                case let .conv(weights, bias, kernel, stride, _, output, layout):
                    let source = layout.staged == 0 ? UnsafePointer(step.source) : UnsafePointer(scratch(of: i))
                    cranet_lane_conv(table, source, layout.read_shape, step.target, step.to, Int32(kernel), Int32(stride), p + weights,
                                     p + bias, output, part, parts)
                case let .pool(kind, kernel, stride, padding):
                    cranet_lane_pool(table, kind, step.source, step.from, step.target, step.to, Int32(kernel), Int32(stride),
                                     Int32(padding), part, parts)
                case .resize:
                    cranet_lane_resize_bilinear_align_corners(table, step.source, step.from, step.target, step.to, part, parts)
                case .primitive:
                    // Never shared (see `passWork`): this is the whole layer, on OpenMP's threads.
                    do {
                        try bridgeCall { cranet_bound_op_execute(bound[i]!, headLayer[i] ? headStream : stream, $0, $1) }
                    } catch {
                        failure.set(error)
                    }
                }
            }
        }
    }
}
