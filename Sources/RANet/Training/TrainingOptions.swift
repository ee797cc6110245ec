import Foundation

/// The authors' training recipe and how to run it.
public struct TrainingOptions: Sendable, Equatable {
    /// Passes over the training data (the authors': 300 for CIFAR, 90 for ImageNet).
    public var epochs: Int
    /// Images per step (the authors': 64 for CIFAR, 256 for ImageNet).
    public var batchSize: Int
    /// The learning rate the schedule starts from.
    public var learningRate: Double
    /// How the learning rate falls.
    public var schedule: LearningRateSchedule
    /// SGD's momentum and weight decay.
    public var optimizer: SGD
    /// Seeds the initial weights (from scratch), the shuffling and the augmentation.
    public var seed: UInt64
    /// Random crops and flips, or nil for none.
    public var augmentation: Augmentation?
    /// Threads oneDNN's primitives use.
    public var threads: Int
    /// What computes the convolutions.
    public var convolutions: TrainingConvolutions
    /// What the early-exit thresholds calibrated after the last epoch aim for (on the
    /// validation data, written into the run folder); nil calibrates none.
    public var thresholdGoal: Calibration.Goal?

    /// The authors' CIFAR recipe (SGD 0.9, weight decay 1e-4, batch 64, lr 0.1 multistep,
    /// crops and flips) for `epochs` epochs.
    public init(epochs: Int = 300, batchSize: Int = 64, learningRate: Double = 0.1, schedule: LearningRateSchedule = .multistep,
                optimizer: SGD = SGD(), seed: UInt64 = 0, augmentation: Augmentation? = Augmentation(),
                threads: Int = ProcessInfo.processInfo.activeProcessorCount, convolutions: TrainingConvolutions = .fastest,
                thresholdGoal: Calibration.Goal? = .trainingDefault) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.schedule = schedule
        self.optimizer = optimizer
        self.seed = seed
        self.augmentation = augmentation
        self.threads = max(1, threads)
        self.convolutions = convolutions
        self.thresholdGoal = thresholdGoal
    }
}
