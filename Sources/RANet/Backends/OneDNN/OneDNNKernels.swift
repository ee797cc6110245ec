import CRANet

/// Which of oneDNN's kernels compute a layer with weights (a convolution, a classifier) at
/// a model's ``Precision``.
///
/// In bf16 both give bf16's arithmetic (the products of bf16 values are exact in f32, and
/// are summed in f32); they differ in speed and in the order of the sums. oneDNN 2.6 runs
/// its bf16 kernels only on AVX-512, and where a `VDPBF16PS` issues at half the rate of an
/// f32 FMA (AVX512_BF16 without AMX), its f32 kernels on the same values are the faster.
enum OneDNNKernels: Sendable, CaseIterable {
    /// The precision's own: f32 kernels in f32, bf16 kernels in bf16.
    case native
    /// oneDNN's f32 kernels on bf16 values (bf16 only): the weights rounded before oneDNN
    /// packs them, the features read as the layers before stored them (rounded), a
    /// convolution's output rounded after it runs.
    case f32OnBF16

    /// The bridge's name at `precision`.
    func bridge(_ precision: Precision) -> cranet_onednn_kernels {
        switch (precision, self) {
        case (.f32, _): CRANET_ONEDNN_F32
        case (.bf16, .native): CRANET_ONEDNN_BF16
        case (.bf16, .f32OnBF16): CRANET_ONEDNN_F32_ON_BF16
        }
    }

    /// Whether oneDNN runs these kernels at `precision` on this CPU (after `DNNL_MAX_CPU_ISA`).
    func runs(at precision: Precision) -> Bool {
        switch (precision, self) {
        case (.f32, .native): true
        case (.f32, .f32OnBF16): false
        case (.bf16, .native): cranet_onednn_runs_bf16() != 0
        case (.bf16, .f32OnBF16): true
        }
    }

    /// What computes the layers with weights where nothing was measured (every layer on
    /// oneDNN): the precision's own kernels where oneDNN runs them, its f32 kernels otherwise.
    static func unmeasured(_ precision: Precision) -> OneDNNKernels {
        native.runs(at: precision) ? .native : .f32OnBF16
    }
}
