import Foundation

/// Trains a RANet as the authors' `main.py` does, into their run-folder layout:
/// `args.txt`, `save_models/checkpoint_NNN.pth.tar` (the latest only), `latest.txt`,
/// `model_best.pth.tar` (best validation top-1 of the last exit), `scores.tsv`, plus
/// `preprocessing.json` with the class names and, after the last epoch, `thresholds.json`
/// (early-exit thresholds calibrated on the validation data for ``TrainingOptions/thresholdGoal``),
/// so the folder is an adaptive model `ranet predict` reads.
///
/// ```swift
/// let data = try TrainingData(LabeledData.open(trainURL), config: config, metadata: metadata)
/// let trainer = try Trainer(config: config, training: data, validation: validation,
///                           options: TrainingOptions(epochs: 12), runFolder: folder)
/// let summary = try await trainer.run { progress in print(progress.epoch, progress.loss) }
/// ```
///
/// Cancelling the task stops after the step in progress; the last complete checkpoint
/// stays as it was (each file is written under a temporary name and renamed).
public final class Trainer: @unchecked Sendable {
    /// The network's config.
    public let config: RANetConfig
    /// The recipe.
    public let options: TrainingOptions
    /// Class names and preprocessing written into the run folder.
    public let metadata: ModelMetadata
    private let training: TrainingData
    private let validation: TrainingData?
    private let runFolder: URL?
    private let model: TrainableModel
    private var startEpoch = 0
    private var bestTop1 = 0.0
    private var bestEpoch: Int?
    private var scoreLines: [String] = []

    /// A run of `options` on `training`, validated each epoch on `validation`, starting
    /// from `initial` weights (fine-tuning: its batch norms' `num_batches_tracked` count on,
    /// the optimizer starts fresh) or the authors' initialization with the options' seed. With `resume`, continues from the run folder's latest checkpoint.
    public init(config: RANetConfig, training: TrainingData, validation: TrainingData? = nil, options: TrainingOptions,
                runFolder: URL?, initial: StateDict? = nil, metadata: ModelMetadata = ModelMetadata(), resume: Bool = false) throws {
        guard options.epochs >= 1 else { throw TrainingError("--epochs must be at least 1") }
        guard options.batchSize >= 1 else { throw TrainingError("--batch-size must be at least 1") }
        guard options.learningRate > 0, options.learningRate.isFinite else { throw TrainingError("the learning rate must be positive") }
        guard training.inputSize == config.inputSize else {
            throw TrainingError("the data makes \(training.inputSize)×\(training.inputSize) inputs but the config takes \(config.inputSize)×\(config.inputSize)")
        }
        self.config = config
        self.options = options
        self.metadata = metadata
        self.training = training
        self.validation = validation
        self.runFolder = runFolder
        let network = try NetworkDescription(config: config)
        if resume {
            guard let runFolder else { throw TrainingError("resuming needs a run folder") }
            let (checkpoint, url) = try Self.latestCheckpoint(in: runFolder)
            model = try TrainableModel(config: config, stateDict: checkpoint.stateDict, momentumBuffers: checkpoint.momentumBuffers,
                                       batchesTracked: checkpoint.batchesTracked, optimizer: options.optimizer, threads: options.threads,
                                       convolutions: options.convolutions)
            guard let epoch = checkpoint.epoch else { throw FileError(path: url.path, message: "checkpoint without an epoch") }
            startEpoch = epoch + 1
            bestTop1 = checkpoint.bestPrecision ?? 0
            let scores = runFolder.appendingPathComponent("scores.tsv")
            let lines = (try? String(contentsOf: scores, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
            scoreLines = lines.filter { line in Int(line.prefix { $0 != "\t" }).map { $0 < startEpoch } ?? false }
        } else {
            let start = initial ?? StateDict.random(for: network, seed: options.seed)
            model = try TrainableModel(config: config, stateDict: start, batchesTracked: start.batchesTracked, optimizer: options.optimizer,
                                       threads: options.threads, convolutions: options.convolutions)
        }
    }

    /// The model being trained (its weights now).
    public var stateDict: StateDict { model.stateDict }

    /// Steps per epoch.
    public var batchesPerEpoch: Int { (training.count + options.batchSize - 1) / options.batchSize }

    /// Runs the remaining epochs, reporting progress to `progress` (from the training
    /// thread). Throws ``TrainingError`` when a loss becomes NaN or infinite (naming the
    /// epoch and step; the last checkpoint is kept) and `CancellationError` when cancelled.
    public func run(progress: @escaping @Sendable (TrainingProgress) -> Void = { _ in }) async throws -> TrainingSummary {
        let cancelled = CancellationFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let thread = Thread {
                    continuation.resume(with: Result { try self.runEpochs(progress: progress, cancelled: cancelled) })
                }
                thread.stackSize = 8 << 20
                thread.start()
            }
        } onCancel: {
            cancelled.set()
        }
    }

    /// The same run as ``run(progress:)``, as a stream of progress reports that ends with the run.
    public func progressReports() -> AsyncThrowingStream<TrainingProgress, Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    _ = try await self.run { continuation.yield($0) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private func runEpochs(progress: (TrainingProgress) -> Void, cancelled: CancellationFlag) throws -> TrainingSummary {
        if let runFolder { try prepare(runFolder) }
        let batches = batchesPerEpoch
        var lastValidation: [Double]?
        var imagesPerSecond = 0.0
        for epoch in startEpoch..<options.epochs {
            var random = TrainingRandom(seed: options.seed, epoch: epoch)
            let order = random.permutation(training.count)
            var lossSum = 0.0, seen = 0
            let start = DispatchTime.now().uptimeNanoseconds
            var rate = options.learningRate
            for b in 0..<batches {
                if cancelled.isSet { throw CancellationError() }
                rate = options.schedule.rate(base: options.learningRate, epoch: epoch, epochs: options.epochs, batch: b,
                                             batches: batches, data: config.data)
                let positions = order[(b * options.batchSize)..<min((b + 1) * options.batchSize, order.count)]
                let (images, labels) = try training.batch(positions, augmentation: options.augmentation, random: &random)
                let result: TrainableModel.StepResult
                do {
                    result = try model.step(images: images, targets: labels, learningRate: Float(rate))
                } catch let error as TrainingError {
                    throw TrainingError("epoch \(epoch), step \(b + 1) of \(batches): \(error.message)")
                }
                lossSum += result.losses.reduce(0, +) * Double(labels.count)
                seen += labels.count
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                imagesPerSecond = Double(seen) / max(seconds, 1e-9)
                let left = Double((options.epochs - epoch) * training.count - seen) / imagesPerSecond
                progress(TrainingProgress(epoch: epoch, epochs: options.epochs, batch: b + 1, batches: batches, loss: lossSum / Double(seen),
                                          learningRate: rate, imagesPerSecond: imagesPerSecond, secondsLeft: left,
                                          validationTop1: nil, isEpochEnd: false))
            }
            lastValidation = try validation.map { try Self.evaluate(model.stateDict, config: config, data: $0, threads: options.threads) }
            let top1 = lastValidation?.last ?? 0
            let isBest = lastValidation != nil && top1 > bestTop1
            if isBest {
                bestTop1 = top1
                bestEpoch = epoch
            }
            if let runFolder {
                try save(epoch: epoch, learningRate: rate, trainLoss: lossSum / Double(max(seen, 1)), validation: lastValidation,
                         isBest: isBest || (validation == nil), in: runFolder)
            }
            progress(TrainingProgress(epoch: epoch, epochs: options.epochs, batch: batches, batches: batches, loss: lossSum / Double(max(seen, 1)),
                                      learningRate: rate, imagesPerSecond: imagesPerSecond,
                                      secondsLeft: Double((options.epochs - epoch - 1) * training.count) / max(imagesPerSecond, 1e-9),
                                      validationTop1: lastValidation, isEpochEnd: true))
        }
        var thresholds: ExitThresholds?
        if let runFolder, let validation, let goal = options.thresholdGoal {
            thresholds = try calibrateThresholds(in: runFolder, on: validation, goal: goal)
        }
        return TrainingSummary(stateDict: model.stateDict, validationTop1: lastValidation, bestTop1: bestTop1, bestEpoch: bestEpoch,
                               thresholds: thresholds)
    }

    /// Calibrates early-exit thresholds for the model the run folder now holds (its best
    /// checkpoint, run by the inference engine that will use them) on the validation data,
    /// and writes them into the folder, where loading the folder finds them.
    private func calibrateThresholds(in folder: URL, on validation: TrainingData, goal: Calibration.Goal) throws -> ExitThresholds {
        let model = try RANetModel.load(from: folder, options: RANetModel.Options(threads: options.threads))
        var confidence = [[Float]](repeating: [], count: config.exitCount)
        var prediction = [[Int]](repeating: [], count: config.exitCount)
        var labels: [Int] = []
        try Self.forEachBatch(of: validation, through: model) { logits, batchLabels in
            let batch = try ExitConfidences(logits: logits)
            for k in 0..<config.exitCount {
                confidence[k] += batch.confidence[k]
                prediction[k] += batch.prediction[k]
            }
            labels += batchLabels
        }
        let confidences = ExitConfidences(confidence: confidence, prediction: prediction, classCount: config.numClasses)
        let thresholds = try Calibration.thresholds(for: goal, validation: confidences, labels: labels,
                                                    opsPerExit: model.operationCount.opsPerExit, fingerprint: model.fingerprint)
        try thresholds.write(to: folder.appendingPathComponent(ModelFile.thresholdsFileName))
        return thresholds
    }

    /// Each exit's top-1 (percent) on `data` in eval mode (running statistics folded, the
    /// inference engine), without augmentation.
    public static func evaluate(_ stateDict: StateDict, config: RANetConfig, data: TrainingData, threads: Int) throws -> [Double] {
        let model = try RANetModel(config: config, stateDict: stateDict, options: RANetModel.Options(threads: threads))
        var correct = [Int](repeating: 0, count: config.exitCount)
        let classes = config.numClasses
        try forEachBatch(of: data, through: model) { tensor, labels in
            let logits = tensor.values
            for k in 0..<config.exitCount {
                for (n, label) in labels.enumerated() {
                    let base = (k * labels.count + n) * classes
                    var best = 0
                    for c in 1..<classes where logits[base + c] > logits[base + best] { best = c }
                    if best == label { correct[k] += 1 }
                }
            }
        }
        return correct.map { 100 * Double($0) / Double(data.count) }
    }

    /// Every exit's logits for `data`, 256 images at a time, in order and not augmented.
    private static func forEachBatch(of data: TrainingData, through model: RANetModel,
                                     _ body: (_ logits: Tensor, _ labels: [Int]) throws -> Void) throws {
        var random = TrainingRandom(seed: 0, epoch: 0)
        let size = model.config.inputSize
        for start in stride(from: 0, to: data.count, by: 256) {
            let positions = Array(start..<min(start + 256, data.count))[...]
            let (images, labels) = try data.batch(positions, augmentation: nil, random: &random)
            try body(try model.logits(for: Tensor(shape: [labels.count, 3, size, size], values: images)), labels)
        }
    }

    // MARK: - The run folder

    private var modelsFolder: URL? { runFolder?.appendingPathComponent("save_models") }

    private func prepare(_ folder: URL) throws {
        let models = folder.appendingPathComponent("save_models")
        do {
            try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        } catch {
            throw FileError(path: models.path, message: "cannot create the run folder: \(error.localizedDescription)")
        }
        guard startEpoch == 0 else { return }
        try? FileManager.default.removeItem(at: folder.appendingPathComponent(ModelFile.thresholdsFileName))
        try writeFileAtomically(Data((RunArguments.namespace(config: config, options: options, save: folder.path) + "\n").utf8),
                                to: folder.appendingPathComponent("args.txt"))
        try writeFileAtomically(Data((RunArguments.preprocessing(config: config, metadata: metadata).description + "\n").utf8),
                                to: folder.appendingPathComponent("preprocessing.json"))
    }

    private func save(epoch: Int, learningRate: Double, trainLoss: Double, validation: [Double]?, isBest: Bool, in folder: URL) throws {
        let models = folder.appendingPathComponent("save_models")
        let name = String(format: "checkpoint_%03d.pth.tar", epoch)
        let url = models.appendingPathComponent(name)
        let contents = model.state.checkpointContents(epoch: epoch, bestPrecision: bestTop1)
        try TorchCheckpoint.write(contents, network: model.network, optimizer: model.optimizer, learningRate: learningRate, to: url)
        if isBest {
            try TorchCheckpoint.write(contents, network: model.network, optimizer: model.optimizer, learningRate: learningRate,
                                      to: models.appendingPathComponent("model_best.pth.tar"))
            // Thresholds calibrated for the previous best would be refused by the new one.
            try? FileManager.default.removeItem(at: folder.appendingPathComponent(ModelFile.thresholdsFileName))
        }
        try writeFileAtomically(Data(url.path.utf8), to: models.appendingPathComponent("latest.txt"))
        let previous = models.appendingPathComponent(String(format: "checkpoint_%03d.pth.tar", epoch - 1))
        try? FileManager.default.removeItem(at: previous)
        let perExit = (validation ?? []).map { String(format: "%.2f", $0) }.joined(separator: ",")
        scoreLines.append(String(format: "%d\t%.3f\t%.4f\t%.4f", epoch, learningRate, trainLoss, validation?.last ?? 0) + "\t[\(perExit)]")
        let header = "epoch\tlr\ttrain_loss\tval_prec1\tval_prec1_per_exit"
        try writeFileAtomically(Data(([header] + scoreLines).joined(separator: "\n").appending("\n").utf8),
                                to: folder.appendingPathComponent("scores.tsv"))
    }

    /// The checkpoint `latest.txt` names, or else the highest-numbered `checkpoint_NNN`.
    static func latestCheckpoint(in folder: URL) throws -> (TorchCheckpoint.Contents, URL) {
        let models = folder.appendingPathComponent("save_models")
        var candidate: URL?
        if let text = try? String(contentsOf: models.appendingPathComponent("latest.txt"), encoding: .utf8) {
            let named = URL(fileURLWithPath: text.trimmingCharacters(in: .whitespacesAndNewlines))
            let local = models.appendingPathComponent(named.lastPathComponent)
            candidate = FileManager.default.fileExists(atPath: local.path) ? local : named
        }
        if candidate == nil || !FileManager.default.fileExists(atPath: candidate!.path) {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: models.path)) ?? []
            candidate = names.filter { $0.hasPrefix("checkpoint_") && $0.hasSuffix(".pth.tar") }.sorted().last
                .map { models.appendingPathComponent($0) }
        }
        guard let url = candidate else {
            throw FileError(path: folder.path, message: "nothing to resume: no checkpoint in save_models")
        }
        return (try TorchCheckpoint.readContents(contentsOf: url), url)
    }
}

/// Set from a cancellation handler, read by the training thread.
final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
