import ArgumentParser
import Foundation
import RANet

struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a RANet with the authors' recipe into a run folder that `ranet predict --model` reads.",
        discussion: """
            SGD (momentum 0.9, weight decay 1e-4), the sum of the exits' cross-entropies, the learning rate adjusted \
            before every step (multistep: ÷10 at 50% and 75% of the epochs for CIFAR-style data, every 30 epochs for \
            ImageNet; or cosine), random crops after 4 pixels of padding and horizontal flips. After every epoch: \
            validation top-1 of every exit, save_models/checkpoint_NNN.pth.tar (the previous one removed), latest.txt, \
            model_best.pth.tar (best last-exit top-1), scores.tsv; args.txt and preprocessing.json at the start. \
            After the last epoch, with validation data: thresholds.json, early-exit thresholds for model_best \
            calibrated on the validation data (--budget), which predict, evaluate and bench use as the model's own.

            Example (Fashion-MNIST, the shared model's recipe):
              ranet train --config run/args.txt --data /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz \\
                --preprocessing run/preprocessing.json --use-valid --epochs 12 --save runs/fmnist
            """)

    @Option(help: ArgumentHelp("The architecture: args.txt, a JSON config or a preset name.", valueName: "file-or-preset"))
    var config: String?

    @Option(help: ArgumentHelp("Fine-tune this model (run folder, checkpoint or .safetensors) instead of starting from scratch.", valueName: "path"))
    var model: String?

    @Option(help: ArgumentHelp("Training data: an image folder (one sub-folder per class), IDX images (.gz or not), or a CIFAR binary batch (*.bin).", valueName: "path"))
    var data: String

    @Option(help: ArgumentHelp("IDX labels of --data, when not found beside it.", valueName: "file"))
    var labels: String?

    @Option(help: ArgumentHelp("Validation data (same kinds as --data).", valueName: "path"))
    var val: String?

    @Flag(name: .customLong("use-valid"), help: "Hold out the end of a permutation of --data for validation, as the authors' --use-valid (5,000 images, 50,000 for ImageNet); the permutation is the run folder's index.pth if it has one, else a new one saved there.")
    var useValid = false

    @Option(help: ArgumentHelp("Test data, evaluated after the last epoch.", valueName: "path"))
    var test: String?

    @Option(help: ArgumentHelp("A preprocessing.json (class names, padding, normalization) for data that is not the config's default kind of images.", valueName: "file"))
    var preprocessing: String?

    @Option(help: "Epochs.")
    var epochs = 300

    @Option(name: .customLong("batch-size"), help: "Images per step.")
    var batchSize = 64

    @Option(help: "Initial learning rate.")
    var lr = 0.1

    @Option(name: .customLong("lr-type"), help: "Learning-rate schedule: multistep or cosine.")
    var lrType = "multistep"

    @Option(help: "SGD momentum.")
    var momentum = 0.9

    @Option(name: .customLong("weight-decay"), help: "Weight decay.")
    var weightDecay = 1e-4

    @Option(help: "Seed for the initial weights, shuffling and augmentation.")
    var seed: UInt64 = 0

    @Flag(inversion: .prefixedNo, help: "Random crops (4 pixels of padding) and horizontal flips.")
    var augment = true

    @Option(help: ArgumentHelp("The run folder to write.", valueName: "RUN_FOLDER"))
    var save: String

    @Flag(help: "Continue the run folder's latest checkpoint.")
    var resume = false

    @Option(help: "Threads oneDNN uses (default: all cores).")
    var threads: Int?

    @Option(help: TrainingConvolutions.help(default: .fastest))
    var convolutions: TrainingConvolutions = .fastest

    @Option(help: ArgumentHelp(
        "Early-exit thresholds calibrated on the validation data after the last epoch: an average budget (20M, 1.5G, 0.4x of the full network), or none.",
        discussion: "Default: the cheapest thresholds whose validation top-1 is within 0.5 points of the last exit's.", valueName: "ops"))
    var budget: String?

    @OptionGroup var decodingOptions: DecodingOptions

    func validate() throws {
        if config == nil && model == nil && !resume { throw ValidationError("give --config (to train from scratch) or --model (to fine-tune)") }
        if config != nil && model != nil { throw ValidationError("give either --config or --model") }
        if epochs < 1 { throw ValidationError("--epochs must be at least 1") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if !(lr > 0) { throw ValidationError("--lr must be positive") }
        if LearningRateSchedule(rawValue: lrType) == nil { throw ValidationError("--lr-type must be multistep or cosine") }
        if useValid && val != nil { throw ValidationError("give either --val or --use-valid") }
        _ = try thresholdGoal
    }

    /// What --budget asks the thresholds calibrated after the last epoch to meet.
    var thresholdGoal: Calibration.Goal? {
        get throws {
            guard let budget else { return .trainingDefault }
            if budget == "none" { return nil }
            do {
                return .budget(try Budget(parsing: budget))
            } catch let error as ThresholdError {
                throw ValidationError("--budget: \(error.message), or none")
            }
        }
    }

    func run() async throws {
        let folder = URL(fileURLWithPath: save)
        var initial: StateDict?
        var metadata = ModelMetadata()
        let architecture: RANetConfig
        if let model {
            let contents = try ModelOptions(model: model, config: nil).read()
            architecture = contents.config
            initial = contents.stateDict
            metadata = contents.metadata
        } else if let config {
            architecture = try ModelOptions(model: nil, config: config).explicitConfig()!
        } else {
            architecture = try RANetConfig.load(contentsOf: folder.appendingPathComponent("args.txt"))
            metadata = try ModelFile.readPreprocessing(folder)
        }
        if let preprocessing {
            metadata = ModelMetadata(preprocessingJSON: try JSONValue.parse(try Data(contentsOf: URL(fileURLWithPath: preprocessing))))
        }
        let decoding = decodingOptions.decoding
        let trainingSet = try LabeledData.open(URL(fileURLWithPath: data), labels: labels.map { URL(fileURLWithPath: $0) }, decoding: decoding)
        if metadata.classes == nil, let names = trainingSet.classNames { metadata.classes = names }
        var training = try TrainingData(trainingSet, config: architecture, metadata: metadata)
        var validation: TrainingData?
        if let val {
            validation = try TrainingData(LabeledData.open(URL(fileURLWithPath: val), decoding: decoding), config: architecture, metadata: metadata)
        } else if useValid {
            (training, validation) = try Self.split(training, data: architecture.data, folder: folder, seed: seed)
        }
        let options = TrainingOptions(epochs: epochs, batchSize: batchSize, learningRate: lr, schedule: LearningRateSchedule(rawValue: lrType)!,
                                      optimizer: SGD(momentum: momentum, weightDecay: weightDecay), seed: seed,
                                      augmentation: augment ? Augmentation() : nil,
                                      threads: threads ?? ProcessInfo.processInfo.activeProcessorCount, convolutions: convolutions,
                                      thresholdGoal: try thresholdGoal)
        let trainer = try Trainer(config: architecture, training: training, validation: validation, options: options, runFolder: folder,
                                  initial: initial, metadata: metadata, resume: resume)
        print("training \(training.count) images" + (validation.map { ", validating on \($0.count)" } ?? "")
              + ", \(trainer.batchesPerEpoch) steps per epoch, into \(folder.path)")
        let line = TrainingProgressLine()
        let task = Task { try await trainer.run { line.report($0) } }
        // Ctrl-C stops after the step in progress instead of in the middle of a save.
        signal(SIGINT, SIG_IGN)
        let interrupt = DispatchSource.makeSignalSource(signal: SIGINT)
        interrupt.setEventHandler { task.cancel() }
        interrupt.resume()
        let summary: TrainingSummary
        do {
            summary = try await task.value
        } catch is CancellationError {
            line.clear()
            FileHandle.standardError.write(Data("interrupted: \(folder.path)/save_models keeps the last complete epoch; continue with --resume\n".utf8))
            throw ExitCode(130)
        }
        interrupt.cancel()
        if let best = summary.bestEpoch {
            print(String(format: "best validation top-1 (last exit) %.2f at epoch %d: save_models/model_best.pth.tar", summary.bestTop1, best + 1))
        }
        if let thresholds = summary.thresholds {
            let fullOps = try OperationCount(NetworkDescription(config: architecture)).opsPerExit.last!
            let spent = thresholds.expectedOps ?? fullOps
            print(String(format: "early exit (%@): %.2fM of %.2fM operations per image (%.2fx), validation top-1 %.2f; thresholds in %@",
                         try thresholdGoal?.description ?? "", spent / 1e6, fullOps / 1e6, spent / fullOps, thresholds.validationAccuracy ?? 0,
                         folder.appendingPathComponent(ModelFile.thresholdsFileName).path))
        } else if validation == nil {
            print("no validation data (--use-valid or --val): no early-exit thresholds were calibrated, so the model runs every image to the last exit")
        }
        if let test {
            let testSet = try TrainingData(LabeledData.open(URL(fileURLWithPath: test), decoding: decoding), config: architecture, metadata: metadata)
            let top1 = try Trainer.evaluate(summary.stateDict, config: architecture, data: testSet, threads: options.threads)
            print("test top-1 per exit: " + top1.map { String(format: "%.2f", $0) }.joined(separator: " "))
        }
    }

    /// The authors' `--use-valid` split: the last 5,000 (ImageNet: 50,000) of a permutation.
    static func split(_ data: TrainingData, data kind: RANetConfig.DataKind, folder: URL, seed: UInt64) throws -> (TrainingData, TrainingData) {
        let held = kind == .imagenet ? 50_000 : 5_000
        guard data.count > held else { throw TrainingError("--use-valid holds out \(held) images, but the data has only \(data.count)") }
        let indexFile = folder.appendingPathComponent("index.pth")
        var permutation: [Int]
        if FileManager.default.fileExists(atPath: indexFile.path) {
            permutation = try TorchCheckpoint.readIndices(contentsOf: indexFile)
            guard permutation.count == data.count else {
                throw TrainingError("\(indexFile.path) permutes \(permutation.count) images, but the data has \(data.count)")
            }
        } else {
            var random = TrainingRandom(seed: seed, epoch: -1)
            permutation = random.permutation(data.count)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try TorchCheckpoint.writeIndices(permutation, to: indexFile)
        }
        return (try data.subset(Array(permutation.dropLast(held))), try data.subset(Array(permutation.suffix(held))))
    }
}

/// The progress of `ranet train`: a line that updates in place on a terminal, and one
/// printed line per epoch.
final class TrainingProgressLine: @unchecked Sendable {
    private let interactive = isatty(STDERR_FILENO) == 1
    private var lastUpdate = 0.0

    /// Erases the progress line.
    func clear() {
        if interactive { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    func report(_ p: TrainingProgress) {
        if p.isEpochEnd {
            clear()
            let val = p.validationTop1.map { " val top-1 " + $0.map { String(format: "%.2f", $0) }.joined(separator: " ") } ?? ""
            print(String(format: "epoch %d/%d: lr %.4g, train loss %.4f, %.0f images/s", p.epoch + 1, p.epochs, p.learningRate, p.loss, p.imagesPerSecond) + val)
            fflush(stdout)
            return
        }
        guard interactive else { return }
        let now = Date().timeIntervalSince1970
        guard now - lastUpdate > 0.2 || p.batch == p.batches else { return }
        lastUpdate = now
        let eta = Int(p.secondsLeft.rounded())
        FileHandle.standardError.write(Data(String(format: "\repoch %d/%d step %d/%d loss %.4f lr %.4g %.0f images/s ETA %d:%02d:%02d ",
                                                   p.epoch + 1, p.epochs, p.batch, p.batches, p.loss, p.learningRate, p.imagesPerSecond,
                                                   eta / 3600, eta / 60 % 60, eta % 60).utf8))
    }
}
