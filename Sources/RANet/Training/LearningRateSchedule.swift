import Foundation

/// The authors' `adjust_learning_rate`, applied before every batch.
public enum LearningRateSchedule: String, Sendable, CaseIterable {
    /// CIFAR-style data: ÷10 from 50% of the epochs, ÷100 from 75%; ImageNet: ÷10 every 30 epochs.
    case multistep
    /// Half a cosine from the base rate to zero over all batches of all epochs.
    case cosine

    /// The rate for batch `batch` of `batches` in epoch `epoch` (0-based) of `epochs`.
    public func rate(base: Double, epoch: Int, epochs: Int, batch: Int, batches: Int, data: RANetConfig.DataKind) -> Double {
        switch self {
        case .cosine:
            let total = Double(epochs * batches), current = Double((epoch % epochs) * batches + batch)
            return 0.5 * base * (1 + cos(Double.pi * current / total))
        case .multistep:
            guard data != .imagenet else { return base * pow(0.1, Double(epoch / 30)) }
            if Double(epoch) >= Double(epochs) * 0.75 { return base * 0.1 * 0.1 }
            if Double(epoch) >= Double(epochs) * 0.5 { return base * 0.1 }
            return base
        }
    }
}
