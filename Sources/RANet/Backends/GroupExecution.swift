/// The backends' common face: what runs the network on a group of images, owned by
/// one thread at a time. ``OneDNNExecution`` takes one image through oneDNN's
/// primitives; ``LaneExecution`` a vector's width of images through the lane kernels,
/// or one image through the row kernels (with oneDNN for the layers its plan gives it);
/// ``RowBatchExecution`` several images alone through the row kernels together.
protocol GroupExecution: AnyObject {
    /// Images one run computes.
    var capacity: Int { get }
    /// Number of layers (``run(layers:)`` takes ranges of `0..<layerCount`).
    var layerCount: Int { get }
    /// Copies up to ``capacity`` images (3×H×W floats each) in, in slot order.
    func load(_ images: [UnsafePointer<Float>])
    /// Runs some layers, in order: early exit runs the network exit by exit.
    func run(layers: Range<Int>) throws
    /// Copies one exit's logits (classes floats) of the image in `slot`.
    func copyLogits(slot: Int, exit: Int, to target: UnsafeMutablePointer<Float>)
    /// Stops computing the image in `slot` (it left at an exit) in later runs.
    func retire(slot: Int)
}

extension GroupExecution {
    /// Runs every layer on the images loaded.
    func run() throws { try run(layers: 0..<layerCount) }

    /// Contexts that compute all their slots in one pass (lanes of a vector, an image
    /// alone) go on computing a retired image: its lane costs nothing extra.
    func retire(slot: Int) {}
}
