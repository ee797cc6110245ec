import CRANet

/// The arithmetic of the layers with weights: convolutions and the exits' classifiers.
///
/// ``bf16`` is bf16 as oneDNN and OpenVINO mean it: the weights (batch norm folded first)
/// are rounded to bf16 (to nearest, ties to even; denormals to zero, as the CPUs'
/// VCVTNEPS2BF16 does), and so is every value a layer passes on: the input image, each
/// convolution's output (after bias and ReLU), each pooling's and resize's output. Products
/// of bf16 values are exact in f32 and are summed in f32; the logits, softmax, confidences
/// and exit decisions stay f32.
///
/// Every kernel family runs both: the lane and row kernels round the weights as they pack
/// them and what they store as they store it, then multiply and add exactly as in f32, so an
/// image gets the same bits in a lane group and alone at one width and one precision.
/// oneDNN runs bf16 on every CPU: on its bf16 kernels where oneDNN 2.6 has them (AVX-512,
/// natively with AVX512_BF16), and on its f32 kernels on the bf16 values everywhere; the
/// plan of an image alone times both (``SingleImagePlan/Backend/oneDNNF32``).
///
/// ```swift
/// var options = RANetModel.Options()
/// options.precision = .bf16
/// let model = try RANetModel.load(from: URL(fileURLWithPath: "run-folder"), options: options)
/// ```
public enum Precision: String, Sendable, CaseIterable {
    /// f32 weights, inputs and sums: the authors' arithmetic, up to the order of the sums.
    case f32
    /// bf16 weights and values between layers, f32 sums and logits.
    case bf16

    /// The bridge's name for it.
    var bridge: cranet_precision { self == .f32 ? CRANET_F32 : CRANET_BF16 }
}
