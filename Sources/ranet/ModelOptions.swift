import ArgumentParser
import Foundation
import RANet

/// Where a command's model comes from.
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "A run folder of the authors' code, a checkpoint (.pth.tar), or a native .safetensors model.",
        discussion: "Default: the bundled Fashion-MNIST model.", valueName: "path"))
    var model: String?

    @Option(help: ArgumentHelp(
        "The architecture of a checkpoint that is not in its run folder: args.txt, a JSON config, or a preset name.",
        valueName: "file-or-preset"))
    var config: String?

    /// The config given with --config, if any.
    func explicitConfig() throws -> RANetConfig? {
        guard let config else { return nil }
        if RANetConfig.presets[config] != nil { return try RANetConfig.preset(named: config) }
        return try RANetConfig.load(contentsOf: URL(fileURLWithPath: config))
    }

    var modelURL: URL {
        get throws {
            if let model { return URL(fileURLWithPath: model) }
            return try RANetModel.bundledModelURL()
        }
    }

    func read() throws -> ModelFile.Contents {
        try ModelFile.read(from: modelURL, config: explicitConfig())
    }


    func load(options: RANetModel.Options) throws -> RANetModel {
        let contents = try read()
        return try RANetModel(config: contents.config, stateDict: contents.stateDict, metadata: contents.metadata, options: options)
    }
}

extension ModelOptions {
    /// Options as if given on the command line.
    init(model: String?, config: String?) {
        self.init()
        self.model = model
        self.config = config
    }
}
