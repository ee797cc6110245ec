import Foundation

/// Finding and reading models: the authors' run folders and checkpoints, and the
/// project's native file (safetensors with config, classes and preprocessing inside).
public enum ModelFile {
    /// Metadata keys of the native file.
    enum MetadataKey {
        static let config = "ranet.config"
        static let classes = "ranet.classes"
        static let preprocessing = "ranet.preprocessing"
        static let thresholds = "ranet.thresholds"
    }

    /// What a model source holds before it is compiled.
    public struct Contents: Sendable {
        /// The network's config.
        public var config: RANetConfig
        /// The weights, buffers and running statistics, by the authors' keys.
        public var stateDict: StateDict
        /// Class names, preprocessing and default thresholds, when the source has them.
        public var metadata: ModelMetadata

        /// A model's contents from its parts.
        public init(config: RANetConfig, stateDict: StateDict, metadata: ModelMetadata = ModelMetadata()) {
            self.config = config
            self.stateDict = stateDict
            self.metadata = metadata
        }
    }

    /// Reads a model from:
    /// - a run folder of the authors' `main.py` (`args.txt`, `save_models/model_best.pth.tar`
    ///   or else the latest `checkpoint_NNN.pth.tar`, optionally `preprocessing.json` and the
    ///   `thresholds.json` that `ranet train` calibrates);
    /// - a checkpoint file, with `config` given or an `args.txt` in its run folder;
    /// - a native `.safetensors` model file (its own config unless `config` is given).
    public static func read(from url: URL, config: RANetConfig? = nil) throws -> Contents {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw FileError(path: url.path, message: "no such model file or folder")
        }
        if isDirectory.boolValue {
            return try readRunFolder(url, config: config)
        }
        let file = try FileBytes(contentsOf: url, what: "model")
        let data = file.data
        if data.starts(with: [0x50, 0x4B, 0x03, 0x04]) || data.first == 0x80 {
            let folder = runFolder(containing: url)
            guard let config = try config ?? folder.map({ try RANetConfig.load(contentsOf: $0.appendingPathComponent("args.txt")) }) else {
                throw FileError(path: url.path, message: "a checkpoint needs a config: pass one (args.txt, JSON or preset) or keep it in its run folder beside args.txt")
            }
            let metadata = try folder.map { try readRunFolderMetadata($0, checkpoint: url) } ?? ModelMetadata()
            return Contents(config: config, stateDict: try TorchCheckpoint.readStateDict(file, path: url.path), metadata: metadata)
        }
        let (stateDict, fields) = try SafetensorsFile.read(file, path: url.path)
        var metadata = ModelMetadata()
        if let classes = fields[MetadataKey.classes], case .array(let names) = try? JSONValue.parse(classes) {
            metadata.classes = names.compactMap(\.stringValue)
        }
        if let preprocessing = fields[MetadataKey.preprocessing] {
            metadata.preprocessing = try? JSONValue.parse(preprocessing)
        }
        if let thresholds = fields[MetadataKey.thresholds] {
            do {
                metadata.defaultThresholds = try ExitThresholds(json: try JSONValue.parse(thresholds))
            } catch {
                throw FileError(path: url.path, message: "malformed default thresholds in the metadata: \(error)")
            }
        }
        if let config {
            return Contents(config: config, stateDict: stateDict, metadata: metadata)
        }
        guard let text = fields[MetadataKey.config] else {
            throw FileError(path: url.path, message: "safetensors file without a RANet config in its metadata; pass a config")
        }
        return Contents(config: try RANetConfig.parseJSON(Data(text.utf8)), stateDict: stateDict, metadata: metadata)
    }

    /// Writes the native model file: the state_dict as safetensors, with the config,
    /// class names and preprocessing in `__metadata__`, so that one file is a whole model.
    /// With `weights` ``Precision/bf16`` the convolutions' and classifiers' weights are stored
    /// as `BF16` (about half the file); every reader widens them back to float32.
    public static func write(_ contents: Contents, weights: Precision = .f32, to url: URL) throws {
        var fields = [MetadataKey.config: contents.config.jsonValue.description, "format": "pt"]
        if let classes = contents.metadata.classes {
            fields[MetadataKey.classes] = JSONValue.array(classes.map { .string($0) }).description
        }
        if let preprocessing = contents.metadata.preprocessing {
            fields[MetadataKey.preprocessing] = preprocessing.description
        }
        if let thresholds = contents.metadata.defaultThresholds {
            fields[MetadataKey.thresholds] = thresholds.json.description
        }
        try SafetensorsFile.write(contents.stateDict, metadata: fields, weights: weights, to: url)
    }

    /// The torch checkpoint a model source's weights come from: the file itself, or a run
    /// folder's `save_models/model_best.pth.tar` (else its latest `checkpoint_NNN.pth.tar`);
    /// nil for a `.safetensors` file, which holds no optimizer state. Training from a model
    /// reads its momentum buffers and epoch from here.
    public static func checkpointURL(of url: URL) throws -> URL? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw FileError(path: url.path, message: "no such model file or folder")
        }
        if !isDirectory.boolValue {
            return url.pathExtension == "safetensors" ? nil : url
        }
        let models = url.appendingPathComponent("save_models")
        let best = models.appendingPathComponent("model_best.pth.tar")
        if FileManager.default.fileExists(atPath: best.path) { return best }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: models.path)) ?? []
        let numbered = names.filter { $0.hasPrefix("checkpoint_") && $0.hasSuffix(".pth.tar") }
        guard let latest = numbered.max(by: { checkpointNumber($0) < checkpointNumber($1) }) else {
            throw FileError(path: url.path, message: "run folder without save_models/model_best.pth.tar or checkpoint_NNN.pth.tar")
        }
        return models.appendingPathComponent(latest)
    }

    private static func readRunFolder(_ folder: URL, config: RANetConfig?) throws -> Contents {
        let args = folder.appendingPathComponent("args.txt")
        guard config != nil || FileManager.default.fileExists(atPath: args.path) else {
            throw FileError(path: folder.path, message: "not a run folder (no args.txt)")
        }
        let checkpoint = try checkpointURL(of: folder)!
        let resolved = try config ?? RANetConfig.load(contentsOf: args)
        return Contents(config: resolved, stateDict: try TorchCheckpoint.readStateDict(contentsOf: checkpoint),
                        metadata: try readRunFolderMetadata(folder, checkpoint: checkpoint))
    }

    private static func checkpointNumber(_ name: String) -> Int {
        Int(name.dropFirst("checkpoint_".count).dropLast(".pth.tar".count)) ?? -1
    }

    /// The run folder of a checkpoint: its folder or the one above (`save_models/..`), if it has args.txt.
    private static func runFolder(containing checkpoint: URL) -> URL? {
        let parent = checkpoint.deletingLastPathComponent()
        return [parent, parent.deletingLastPathComponent()].first {
            FileManager.default.fileExists(atPath: $0.appendingPathComponent("args.txt").path)
        }
    }

    /// The file in a run folder that holds the thresholds `ranet train` calibrated for the
    /// folder's model (the checkpoint ``checkpointURL(of:)`` resolves to).
    public static let thresholdsFileName = "thresholds.json"

    /// A run folder's metadata for one of its checkpoints: `preprocessing.json`, and
    /// `thresholds.json` when `checkpoint` is the one the folder resolves to (the
    /// thresholds were calibrated for that model and would be refused by any other).
    static func readRunFolderMetadata(_ folder: URL, checkpoint: URL) throws -> ModelMetadata {
        var metadata = try readPreprocessing(folder)
        let thresholds = folder.appendingPathComponent(thresholdsFileName)
        if FileManager.default.fileExists(atPath: thresholds.path),
           try checkpointURL(of: folder)?.standardizedFileURL.path == checkpoint.standardizedFileURL.path {
            metadata.defaultThresholds = try ExitThresholds.read(contentsOf: thresholds)
        }
        return metadata
    }

    /// The metadata of a run folder's `preprocessing.json` (empty without one).
    public static func readPreprocessing(_ folder: URL) throws -> ModelMetadata {
        let url = folder.appendingPathComponent("preprocessing.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return ModelMetadata() }
        do {
            return ModelMetadata(preprocessingJSON: try JSONValue.parse(try readFile(url, what: "preprocessing")))
        } catch let error as JSONValue.ParseError {
            throw FileError(path: url.path, message: "not valid JSON: \(error)")
        }
    }
}

extension RANetModel {
    /// Loads a model from a run folder, a checkpoint (with `config`, or beside its
    /// `args.txt`) or a native `.safetensors` file. See ``ModelFile/read(from:config:)``.
    public static func load(from url: URL, config: RANetConfig? = nil, options: Options = Options()) throws -> RANetModel {
        let contents = try ModelFile.read(from: url, config: config)
        return try RANetModel(config: contents.config, stateDict: contents.stateDict, metadata: contents.metadata, options: options)
    }

    /// The model's config, weights and metadata, e.g. for ``ModelFile/write(_:weights:to:)``.
    public var contents: ModelFile.Contents {
        ModelFile.Contents(config: config, stateDict: stateDict, metadata: metadata)
    }
}
