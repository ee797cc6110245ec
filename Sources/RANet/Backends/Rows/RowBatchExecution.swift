import CRANet

/// Images alone in the row kernels, run together layer by layer, so that the layers
/// whose weights outweigh an image's map read them once for all the images instead of
/// once per image.
///
/// At ImageNet scale an exit's two 3×3 convolutions hold 12–51 MB of weights for maps
/// of 4×4 and 2×2 outputs: an image alone streams their 0.44 GB from
/// memory, and images alone on both cores ran at the memory's pace. Here each image has
/// its own ``LaneExecution`` of width 1 (its arena, its plan's oneDNN layers); the runs
/// of other layers go image by image, each image on one thread; each of
/// ``batchedLayers(of:layerFloats:programFloats:)`` runs for every image at once (`cranet_row_conv_images`), its
/// threads cutting it by output channels. Every image gets the bits it gets alone.
final class RowBatchExecution: GroupExecution, SharedPasses {
    /// The unit of work threads share (``PassTeam``).
    private enum Pass {
        /// These layers, image by image: the parts take the images in turn.
        case layers(Range<Int>)
        /// A batched convolution's input staged, image by image.
        case stage(layer: Int)
        /// A batched convolution of every image, the parts taking output channels.
        case convolution(layer: Int)
    }

    /// One context per slot, all of ``program``.
    let images: [LaneExecution]
    private let program: LaneProgram
    private let batched: [Bool]
    /// The slots computed: the images loaded, less those retired.
    private var active: [Int] = []
    /// Threads that may help (nil: the owner runs every pass).
    var team: PassTeam?
    /// The passes of the current ``run(layers:)``.
    private var passes: [Pass] = []
    /// The first failure of an image's oneDNN layer in the current run.
    private var failure = ErrorBox()

    /// Runs `images`, contexts of one row-kernel program, together; `batched` (by
    /// default ``batchedLayers(of:layerFloats:programFloats:)``) says which layers run for
    /// all of them at once.
    init(images: [LaneExecution], batched: [Bool]? = nil) {
        precondition(!images.isEmpty && images.allSatisfy { $0.program === images[0].program && $0.program.lanes == 1 },
                     "a row batch takes contexts of one row-kernel program")
        // Each image runs on the thread that takes it, never shared further.
        for image in images {
            image.team = nil
            image.sharesOnOpenMP = false
        }
        self.images = images
        program = images[0].program
        self.batched = batched ?? Self.batchedLayers(of: program)
    }

    /// Packed weight floats from which a layer by output channels runs for every image
    /// at once: 1 MiB, a core's L2 here (AMD Zen 5), past which an image's weights are
    /// gone from it before the next image would read them.
    static let batchedWeightFloats = 1 << 18
    /// Weight floats of the whole program from which it has layers to batch at all: 64 MiB,
    /// more than the last-level cache of the CPUs this runs on, so that images alone read
    /// them from memory. Smaller networks (the CIFAR ones: 10 MB) stay in that cache from
    /// one image to the next, and their images alone measured no faster batched.
    static let batchedProgramFloats = 1 << 24

    /// Per layer of `program`, whether a row batch runs it for every image at once: the
    /// row kernels' convolutions by output channels with at least `layerFloats` of
    /// weights, in a program of at least `programFloats`.
    static func batchedLayers(of program: LaneProgram, layerFloats: Int = batchedWeightFloats,
                              programFloats: Int = batchedProgramFloats) -> [Bool] {
        program.kernels.map {
            guard program.parameters.count >= programFloats, case let .conv(_, _, _, _, _, _, layout) = $0 else { return false }
            return layout.by_channels != 0 && layout.packed_floats >= layerFloats
        }
    }

    var capacity: Int { images.count }
    var layerCount: Int { images[0].layerCount }

    func load(_ images: [UnsafePointer<Float>]) {
        for (slot, image) in images.enumerated() { self.images[slot].load([image]) }
        active = Array(images.indices)
    }

    func retire(slot: Int) { active.removeAll { $0 == slot } }

    func copyLogits(slot: Int, exit: Int, to target: UnsafeMutablePointer<Float>) {
        images[slot].copyLogits(slot: 0, exit: exit, to: target)
    }

    func run(layers: Range<Int>) throws {
        passes = []
        var start = layers.lowerBound
        for layer in layers where batched[layer] {
            if start < layer { passes.append(.layers(start..<layer)) }
            passes += [.stage(layer: layer), .convolution(layer: layer)]
            start = layer + 1
        }
        if start < layers.upperBound { passes.append(.layers(start..<layers.upperBound)) }
        if let team {
            team.run(self, passes: passes.indices)
        } else {
            for pass in passes.indices { runShare(pass: pass, part: 0, parts: 1) }
        }
        if let error = failure.error {
            failure = ErrorBox()
            throw error
        }
    }

    func isShareable(pass: Int) -> Bool {
        if case .convolution = passes[pass] { return true }
        return active.count > 1
    }

    func runShare(pass: Int, part: Int, parts: Int) {
        switch passes[pass] {
        case .layers(let range):
            for slot in stride(from: part, to: active.count, by: parts) {
                do { try images[active[slot]].run(layers: range) } catch { failure.set(error) }
            }
        case .stage(let layer):
            for slot in stride(from: part, to: active.count, by: parts) { images[active[slot]].stageInput(layer: layer) }
        case .convolution(let layer):
            guard case let .conv(weights, bias, kernel, stride, _, output, layout) = program.kernels[layer], !active.isEmpty else { return }
            let operands = active.map { images[$0].convolutionOperands(layer: layer) }
            let sources = operands.map { Optional($0.source) }, targets = operands.map { Optional($0.target) }
            program.parameters.withUnsafeBufferPointer { parameters in
                let p = parameters.baseAddress!
                cranet_row_conv_images(program.kernelTable, sources, layout.read_shape, targets, operands[0].output, Int32(active.count),
                                       Int32(kernel), Int32(stride), p + weights, p + bias, output, Int32(part), Int32(parts))
            }
        }
    }
}
