import ArgumentParser
import Foundation
import RANet

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Write a model as one native .safetensors file (weights, config, class names, preprocessing).")

    @OptionGroup var source: ModelOptions

    @Option(help: ArgumentHelp("The .safetensors file to write.", valueName: "model.safetensors"))
    var output: String

    func run() throws {
        let contents = try source.read()
        try contents.stateDict.validate(for: try NetworkDescription(config: contents.config))
        try ModelFile.write(contents, to: URL(fileURLWithPath: output))
        let count = OperationCount(try NetworkDescription(config: contents.config))
        print("wrote \(output): \(contents.config.exitCount) exits, \(count.paramsTotal) parameters")
    }
}
