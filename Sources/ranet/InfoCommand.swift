import ArgumentParser
import Foundation
import RANet

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show a network's config, flows, exits, parameter total and operations per exit.",
        discussion: "Operations follow the authors' op_counter, cumulative up to each exit. With --preset no weights are read.")

    @OptionGroup var source: ModelOptions

    @Option(help: ArgumentHelp("A paper configuration instead of a model: \(RANetConfig.presetNames.joined(separator: ", ")).", valueName: "name"))
    var preset: String?

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func validate() throws {
        if preset != nil && (source.model != nil || source.config != nil) {
            throw ValidationError("give either --preset or --model/--config, not both")
        }
    }

    func run() throws {
        var metadata = ModelMetadata()
        let config: RANetConfig
        if let preset {
            config = try RANetConfig.preset(named: preset)
        } else {
            let contents = try source.read()
            try contents.stateDict.validate(for: try NetworkDescription(config: contents.config))
            config = contents.config
            metadata = contents.metadata
        }
        let network = try NetworkDescription(config: config)
        let summary = NetworkSummary(network: network, metadata: metadata)
        print(json ? summary.json.prettyDescription : summary.text)
    }
}
