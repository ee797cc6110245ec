import CRANet

/// Everything one thread needs to run the network through oneDNN on one image after
/// another: an arena laid out by the plan, a scratchpad, a stream, and every
/// primitive bound to its slices of the arena. Used by one thread at a time.
final class OneDNNExecution: GroupExecution {
    private enum Step {
        case primitive(OpaquePointer)
        case resize(source: UnsafeMutablePointer<Float>, channels: Int32, height: Int32, width: Int32,
                    target: UnsafeMutablePointer<Float>, targetHeight: Int32, targetWidth: Int32)
    }

    let primitives: OneDNNNetwork
    private let arena: UnsafeMutablePointer<Float>
    private let scratchpad: UnsafeMutableRawPointer?
    private let stream: OpaquePointer
    private var steps: [Step] = []
    /// Where the image goes and where the logits (exits × classes) come out.
    private let input: UnsafeMutablePointer<Float>
    private let logits: UnsafeMutablePointer<Float>

    init(primitives: OneDNNNetwork) throws {
        self.primitives = primitives
        let network = primitives.network, plan = primitives.plan
        arena = .allocate(capacity: max(plan.arenaFloats, 1))
        arena.initialize(repeating: 0, count: max(plan.arenaFloats, 1))
        scratchpad = primitives.scratchpadBytes > 0 ? .allocate(byteCount: primitives.scratchpadBytes, alignment: 64) : nil
        var stream: OpaquePointer?
        do {
            try bridgeCall { cranet_stream_create(primitives.engine, &stream, $0, $1) }
        } catch {
            arena.deallocate()
            scratchpad?.deallocate()
            throw error
        }
        self.stream = stream!
        input = arena + plan.tensorOffsets[network.inputTensor]
        logits = arena + plan.tensorOffsets[network.logitsTensor]
        for (layer, op) in zip(network.layers, primitives.operations) {
            let source = arena + plan.offset(of: layer.input, in: network)
            let target = arena + plan.offset(of: layer.output, in: network)
            if let op {
                var bound: OpaquePointer?
                try bridgeCall { cranet_op_bind(op, source, target, scratchpad, &bound, $0, $1) }
                steps.append(.primitive(bound!))
            } else {
                let from = network.shape(of: layer.input), to = network.shape(of: layer.output)
                steps.append(.resize(source: source, channels: Int32(from.channels), height: Int32(from.height),
                                     width: Int32(from.width), target: target, targetHeight: Int32(to.height),
                                     targetWidth: Int32(to.width)))
            }
        }
    }

    deinit {
        for case .primitive(let bound) in steps { cranet_bound_op_destroy(bound) }
        cranet_stream_destroy(stream)
        arena.deallocate()
        scratchpad?.deallocate()
    }

    var capacity: Int { 1 }
    var layerCount: Int { steps.count }

    func load(_ images: [UnsafePointer<Float>]) {
        input.update(from: images[0], count: primitives.network.tensors[primitives.network.inputTensor].elementCount)
    }

    func copyLogits(slot: Int, exit: Int, to target: UnsafeMutablePointer<Float>) {
        let classes = primitives.network.config.numClasses
        target.update(from: logits + exit * classes, count: classes)
    }

    func run(layers: Range<Int>) throws {
        for step in steps[layers] {
            switch step {
            case .primitive(let bound):
                try bridgeCall { cranet_bound_op_execute(bound, stream, $0, $1) }
            case let .resize(source, channels, height, width, target, targetHeight, targetWidth):
                cranet_resize_bilinear_align_corners(source, channels, height, width, target, targetHeight, targetWidth)
                if primitives.precision == .bf16 {
                    cranet_round_bf16(target, target, Int(channels) * Int(targetHeight) * Int(targetWidth))
                }
            }
        }
    }
}
