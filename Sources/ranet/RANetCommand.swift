import ArgumentParser
import RANet

@main
struct RANetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ranet",
        abstract: "Resolution Adaptive Networks (RANet): anytime image classification on the CPU through oneDNN.",
        subcommands: [PredictCommand.self, InfoCommand.self, LogitsCommand.self, PreprocessCommand.self, EvaluateCommand.self, CalibrateCommand.self, DynamicCommand.self, BenchCommand.self, ConvertCommand.self, TrainCommand.self, TrainStepsCommand.self])
}
