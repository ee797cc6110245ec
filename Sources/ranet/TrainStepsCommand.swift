import ArgumentParser
import Foundation
import RANet

struct TrainStepsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-steps",
        abstract: "Run N training steps on one fixed batch and write the checkpoint, as the authors' train() would.",
        discussion: """
            Train mode (batch statistics), the sum of the exits' cross-entropies, SGD with momentum and weight decay \
            as torch applies them, no augmentation. The optimizer starts fresh (the first momentum buffer is the \
            gradient) unless --continue-optimizer takes the start checkpoint's buffers. The output is a checkpoint in \
            the authors' format (state_dict with running statistics and num_batches_tracked, optimizer state).
            """)

    @OptionGroup var source: ModelOptions

    @Option(help: ArgumentHelp("Float32 .npy of the batch, N×3×S×S, normalized.", valueName: "X.npy"))
    var input: String

    @Option(help: ArgumentHelp("Int64 .npy of the N class indices.", valueName: "Y.npy"))
    var targets: String

    @Option(help: "Steps to run.")
    var steps = 1

    @Option(help: "Learning rate.")
    var lr = 0.1

    @Option(help: "SGD momentum.")
    var momentum = 0.9

    @Option(name: .customLong("weight-decay"), help: "Weight decay.")
    var weightDecay = 1e-4

    @Flag(name: .customLong("continue-optimizer"), help: "Continue from the start checkpoint's momentum buffers.")
    var continueOptimizer = false

    @Option(help: ArgumentHelp("The checkpoint to write.", valueName: "OUT.pth.tar"))
    var output: String

    @Option(help: ArgumentHelp("Also write each step's loss per exit (steps × exits, float64, before each update).", valueName: "L.npy"))
    var losses: String?

    @Option(help: "Threads oneDNN uses (default: all cores).")
    var threads: Int?

    @Option(help: TrainingConvolutions.help(default: .oneDNN))
    var convolutions: TrainingConvolutions = .oneDNN

    func validate() throws {
        if steps < 1 { throw ValidationError("--steps must be at least 1") }
        if !(lr > 0) { throw ValidationError("--lr must be positive") }
        if !output.hasSuffix(".pth.tar") && !output.hasSuffix(".pth") { throw ValidationError("--output must end in .pth.tar or .pth") }
    }

    func run() throws {
        let contents = try source.read()
        // A torch checkpoint (a run folder's too) also holds momentum buffers and the epoch.
        let checkpoint = try ModelFile.checkpointURL(of: source.modelURL).map { try TorchCheckpoint.readContents(contentsOf: $0) }
        if continueOptimizer && checkpoint == nil {
            throw TrainingError("--continue-optimizer needs a torch checkpoint or run folder; \(try source.modelURL.path) holds no optimizer state")
        }
        let images = try NpyFile.readFloat32(contentsOf: URL(fileURLWithPath: input))
        let labels = try DynamicCommand.labels(targets)
        let size = contents.config.inputSize
        guard images.shape.count == 4, images.shape[0] == labels.count, images.shape[1...] == [3, size, size] else {
            throw ShapeError("\(input) has shape \(images.shape); the model takes \(labels.count)×3×\(size)×\(size) for \(labels.count) targets")
        }
        let model = try TrainableModel(config: contents.config, stateDict: contents.stateDict,
                                       momentumBuffers: continueOptimizer ? checkpoint?.momentumBuffers ?? [:] : [:],
                                       batchesTracked: contents.stateDict.batchesTracked,
                                       optimizer: SGD(momentum: momentum, weightDecay: weightDecay),
                                       threads: threads ?? ProcessInfo.processInfo.activeProcessorCount, convolutions: convolutions)
        var table: [Double] = []
        for step in 1...steps {
            let result = try model.step(images: images.values, targets: labels, learningRate: Float(lr))
            table += result.losses
            print("step \(step): loss " + result.losses.map { String(format: "%.6f", $0) }.joined(separator: " ")
                  + String(format: " (sum %.6f)", result.losses.reduce(0, +)))
        }
        let out = model.state.checkpointContents(epoch: checkpoint?.epoch ?? 0, bestPrecision: checkpoint?.bestPrecision ?? 0)
        try TorchCheckpoint.write(out, network: model.network, optimizer: model.optimizer, learningRate: lr, to: URL(fileURLWithPath: output))
        if let losses {
            try NpyFile.write(float64: table, shape: [steps, contents.config.exitCount], to: URL(fileURLWithPath: losses))
        }
        print("wrote \(output)" + (losses.map { " and \($0)" } ?? ""))
    }
}
