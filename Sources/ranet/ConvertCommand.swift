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

    @Option(help: ArgumentHelp("Thresholds (from `ranet calibrate`) to store as the model's default for early exit.", valueName: "file.json"))
    var thresholds: String?

    func run() throws {
        var contents = try source.read()
        try contents.stateDict.validate(for: try NetworkDescription(config: contents.config))
        if let thresholds {
            let t = try ExitThresholds.read(contentsOf: URL(fileURLWithPath: thresholds))
            guard t.values.count == contents.config.exitCount else {
                throw ThresholdError("\(thresholds) has \(t.values.count) thresholds for a model with \(contents.config.exitCount) exits")
            }
            let fingerprint = contents.stateDict.fingerprint(config: contents.config)
            if let theirs = t.modelFingerprint, theirs != fingerprint {
                throw ThresholdError("\(thresholds) was calibrated for another model (fingerprint \(theirs), this model is \(fingerprint))")
            }
            contents.metadata.defaultThresholds = t
        }
        try ModelFile.write(contents, to: URL(fileURLWithPath: output))
        let count = OperationCount(try NetworkDescription(config: contents.config))
        print("wrote \(output): \(contents.config.exitCount) exits, \(count.paramsTotal) parameters")
    }
}
