import CRANet

/// Everything one thread needs to run the network on a group of images at once
/// through the lane kernels: the plan's arena with every float widened to a vector of
/// ``LaneProgram/lanes`` floats (one per image), and each layer's call with its
/// pointers resolved. Used by one thread at a time.
final class LaneExecutionContext: GroupExecution {
    private struct Step {
        let kernel: LaneProgram.Kernel
        let source: UnsafeMutablePointer<Float>
        let target: UnsafeMutablePointer<Float>
        let from: cranet_shape
        let to: cranet_shape
    }

    let program: LaneProgram
    let plan: ExecutionPlan
    private let network: NetworkDescription
    private let arena: UnsafeMutablePointer<Float>
    /// Where this context's thread puts a convolution's staged input.
    let scratch: LaneScratch
    /// Threads that may help run this group (nil: it runs alone).
    var team: LaneTeam?
    private let steps: [Step]
    private let input: UnsafeMutablePointer<Float>
    private let logits: UnsafeMutablePointer<Float>

    init(program: LaneProgram, network: NetworkDescription, plan: ExecutionPlan) {
        self.program = program
        self.plan = plan
        self.network = network
        let lanes = program.lanes
        let overread = cranet_lane_overread_floats(Int32(lanes))
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
        scratch = LaneScratch(floats: steps.map { step -> Int in
            guard case let .conv(_, _, _, stride, padding, _) = step.kernel, padding > 0 || stride > 1 else { return 0 }
            return cranet_lane_staged_floats(Int32(lanes), step.from, Int32(padding), Int32(stride)) + overread
        }.max() ?? 0)
        self.arena = arena
        self.steps = steps
        input = arena + plan.tensorOffsets[network.inputTensor] * lanes
        logits = arena + plan.tensorOffsets[network.logitsTensor] * lanes
    }

    deinit { arena.deallocate() }

    var capacity: Int { program.lanes }
    var layerCount: Int { steps.count }

    func load(_ images: [UnsafePointer<Float>]) {
        let floats = network.tensors[network.inputTensor].elementCount
        images.map { Optional($0) }.withUnsafeBufferPointer {
            cranet_lane_pack(Int32(program.lanes), $0.baseAddress!, Int32(images.count), floats, input)
        }
    }

    func copyLogits(slot: Int, exit: Int, to target: UnsafeMutablePointer<Float>) {
        let classes = network.config.numClasses
        cranet_lane_unpack(Int32(program.lanes), logits + exit * classes * program.lanes, classes, Int32(slot), target)
    }

    /// Copies images from `other` into this context's lanes: `sources[l]` is the lane
    /// of `other` whose image goes to lane l, or -1 to leave lane l alone. Only `state`
    /// (see ``ExecutionPlan/liveState(after:in:)``) is copied: all an image needs to go on.
    func takeImages(from other: LaneExecutionContext, sources: [Int32], state: [(tensor: Int, floats: Int)]) {
        for (t, floats) in state {
            let offset = plan.tensorOffsets[t] * program.lanes
            cranet_lane_gather(Int32(program.lanes), other.arena + offset, sources, arena + offset, floats)
        }
    }

    func run(layers: Range<Int>) throws {
        if let team {
            team.run(self, layers: layers)
        } else {
            var staged = StagedLayer()
            for layer in layers { runShare(layer: layer, part: 0, parts: 1, scratch: scratch, staged: &staged, round: layer) }
        }
    }

    /// Computes share `part` of `parts` of one layer (see ``LaneTeam``). A padded or
    /// strided convolution first stages its input into `scratch` (`cranet_lane_stage`),
    /// unless `staged` says this thread already did in this `round`.
    func runShare(layer: Int, part: Int, parts: Int, scratch: LaneScratch, staged: inout StagedLayer, round: Int) {
        let step = steps[layer], lanes = Int32(program.lanes), (part, parts) = (Int32(part), Int32(parts))
        program.parameters.withUnsafeBufferPointer { parameters in
            let p = parameters.baseAddress!
            switch step.kernel {
            case let .conv(weights, bias, kernel, stride, padding, relu):
                var source = UnsafePointer(step.source), from = step.from
                if padding > 0 || stride > 1 {
                    if staged.round != round {
                        cranet_lane_stage(lanes, step.source, step.from, Int32(padding), Int32(stride), scratch.pointer)
                        staged.round = round
                    }
                    source = UnsafePointer(scratch.pointer)
                    from.height += Int32(2 * padding)
                    from.width += Int32(2 * padding)
                }
                cranet_lane_conv(lanes, source, from, step.target, step.to, Int32(kernel), Int32(stride), p + weights,
                                 p + bias, relu ? 1 : 0, part, parts)
            case let .pool(kind, kernel, stride, padding):
                cranet_lane_pool(lanes, kind, step.source, step.from, step.target, step.to, Int32(kernel), Int32(stride),
                                 Int32(padding), part, parts)
            case .resize:
                cranet_lane_resize_bilinear_align_corners(lanes, step.source, step.from, step.target, step.to, part, parts)
            }
        }
    }
}
