/// Where a training run is, as ``Trainer`` reports it after every step and every epoch.
public struct TrainingProgress: Sendable {
    /// The epoch (0-based).
    public let epoch: Int
    /// Epochs of the run.
    public let epochs: Int
    /// Steps done in this epoch.
    public let batch: Int
    /// Steps of an epoch.
    public let batches: Int
    /// The mean summed loss of the epoch so far.
    public let loss: Double
    /// The learning rate of the last step.
    public let learningRate: Double
    /// Training images per second over this epoch.
    public let imagesPerSecond: Double
    /// Estimated seconds until the last epoch ends (training steps only).
    public let secondsLeft: Double
    /// At an epoch's end: each exit's validation top-1 (percent), nil otherwise or without validation data.
    public let validationTop1: [Double]?
    /// True for the report that closes an epoch (after its checkpoint is written).
    public let isEpochEnd: Bool
}

/// What a finished run reached.
public struct TrainingSummary: Sendable {
    /// The trained weights and statistics.
    public let stateDict: StateDict
    /// The last epoch's validation top-1 per exit (percent), if there was validation data.
    public let validationTop1: [Double]?
    /// The best validation top-1 of the last exit (percent).
    public let bestTop1: Double
    /// The epoch that reached it, 0-based as the checkpoints number it (nil without
    /// validation data, or when resumed past it).
    public let bestEpoch: Int?
    /// The early-exit thresholds calibrated on the validation data and written into the run
    /// folder (nil without validation data, a run folder or a ``TrainingOptions/thresholdGoal``).
    public let thresholds: ExitThresholds?
}
