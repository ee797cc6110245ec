import ArgumentParser
import Foundation
import RANet

extension RANetModel.SingleImageKernels: ExpressibleByArgument {}
extension Precision: ExpressibleByArgument {}

/// What runs the network: precision, lane width, the backend of images alone, and the plan cache.
struct EngineOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Arithmetic of convolutions and classifiers: f32, or bf16 (weights and every value between layers rounded to bf16, sums and logits f32).",
        valueName: "f32|bf16"))
    var precision: Precision = .f32

    @Option(help: "Images the lane kernels compute side by side: 16 (AVX-512), 8 (AVX2) or 4 (portable); 1 runs every image alone. Single images run at the same width's instruction set. (default: the widest this CPU supports, at most RANET_MAX_LANES)")
    var lanes: Int?

    @Option(name: .customLong("single-image"), help: ArgumentHelp(
        "What computes an image that runs alone: fastest (each layer on the row kernels or oneDNN, whichever measured faster here), rows (the row kernels: the same bits as in a lane group) or onednn.",
        valueName: "fastest|rows|onednn"))
    var singleImages: RANetModel.SingleImageKernels = .fastest

    @Option(help: ArgumentHelp("Where measured single-image plans are kept for the next run (default: $XDG_CACHE_HOME/ranet/plans or ~/.cache/ranet/plans).", valueName: "folder"))
    var planCache: String?

    @Flag(help: "Measure single-image plans anew and keep them for this run only.")
    var noPlanCache = false

    func validate() throws {
        if noPlanCache && planCache != nil { throw ValidationError("give either --plan-cache or --no-plan-cache") }
    }

    /// The model options these flags give, with `threads` threads (default: every core).
    func options(threads: Int?) -> RANetModel.Options {
        var options = RANetModel.Options(threads: threads ?? ProcessInfo.processInfo.activeProcessorCount, singleImages: singleImages)
        options.precision = precision
        if let lanes { options.lanes = lanes }
        if noPlanCache { options.planCache = nil }
        if let planCache { options.planCache = PlanCache(directory: URL(fileURLWithPath: planCache)) }
        let keptIn = options.planCache.map { "kept in \($0.directory.path)" } ?? "not kept: --no-plan-cache"
        options.onMeasurement = { layers in
            FileHandle.standardError.write(Data("timing the row kernels and oneDNN on each of \(layers) layers for images alone (once on this CPU; \(keptIn))\n".utf8))
        }
        return options
    }
}
