import ArgumentParser
import RANet

@main
struct RANetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ranet",
        abstract: "Resolution Adaptive Networks (RANet): anytime image classification on the CPU through oneDNN.",
        version: RANetCommand.version,
        subcommands: [PredictCommand.self, ServeCommand.self, InfoCommand.self, LogitsCommand.self, PreprocessCommand.self, EvaluateCommand.self, CalibrateCommand.self, DynamicCommand.self, BenchCommand.self, ConvertCommand.self, TrainCommand.self, TrainStepsCommand.self])

    /// The tool's version, as `ranet --version` and the server's metadata give it.
    static let version = "0.9.0"
}
