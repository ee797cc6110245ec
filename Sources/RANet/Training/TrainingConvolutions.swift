import CRANet

/// What computes the convolutions of a training step.
///
/// oneDNN computes convolutions in blocks of 16 channels (8 on AVX2), so a layer of a few
/// output channels, common in RANet's dense blocks at the finest scales, does most of its
/// work on padding and reorders its tensors into and out of those blocks. The row
/// kernels compute such layers in the tensors' own layout.
///
/// Both compute the same sums in a different order. PyTorch computes its CPU
/// convolutions with oneDNN too, so ``oneDNN`` follows the authors' steps most closely:
/// on the shared reference steps its weights stay within 3·10⁻⁶ of theirs, while the row
/// kernels' rounding sends one ReLU input that sits at zero the other way, which moves
/// one batch norm's shift gradient by 5% and the second step's losses by up to 2.4·10⁻⁴.
public enum TrainingConvolutions: String, Sendable, Equatable, CaseIterable {
    /// The row kernels for stride-1 convolutions of at most 8 output channels, oneDNN for
    /// the others: the faster choice (training the Fashion-MNIST model, 33% more images/s).
    case fastest
    /// oneDNN for every convolution: the arithmetic of PyTorch's own CPU convolutions.
    case oneDNN = "onednn"

    /// The row kernels a training graph may use: the widest this CPU runs, or none.
    var rowKernels: OpaquePointer? {
        self == .fastest ? cranet_row_kernels(Int32(LaneWidth.widest), CRANET_F32) : nil
    }
}
