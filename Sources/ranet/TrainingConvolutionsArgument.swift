import ArgumentParser
import RANet

extension TrainingConvolutions: ExpressibleByArgument {
    /// The help of `--convolutions`, which `train`, `train-steps` and `bench --train` share.
    static func help(default value: TrainingConvolutions) -> ArgumentHelp {
        ArgumentHelp("What computes the convolutions: fastest (the row kernels for stride-1 convolutions of at most 8 output channels, oneDNN for the rest) or onednn (oneDNN for all, as PyTorch computes them on the CPU; the closest to the authors' steps). Default: \(value.rawValue).",
                     valueName: "fastest|onednn")
    }
}
