import Foundation

/// The text files of a run folder that describe it: the authors' `args.txt` (their
/// argparse Namespace, which ``RANetConfig/load(contentsOf:)`` reads back) and the
/// `preprocessing.json` that tells `ranet predict` how inputs are made.
enum RunArguments {
    static func namespace(config c: RANetConfig, options o: TrainingOptions, save: String) -> String {
        func list(_ v: [Int]) -> String { "[" + v.map(String.init).joined(separator: ", ") + "]" }
        func python(_ v: Double) -> String { "\(v)" }  // Swift's shortest form reads back in Python
        let fields: [(String, String)] = [
            ("save", "'\(save.replacingOccurrences(of: "'", with: "\\'"))'"), ("resume", "None"), ("evalmode", "None"),
            ("evaluate_from", "''"), ("print_freq", "10"), ("seed", "\(o.seed)"), ("gpu", "'0'"), ("data", "'\(c.data.rawValue)'"),
            ("data_root", "''"), ("use_valid", "False"), ("workers", "4"), ("arch", "'RANet'"),
            ("reduction", python(c.reduction)), ("nBlocks", "\(c.nBlocks)"), ("nChannels", "\(c.nChannels)"),
            ("growthRate", "\(c.growthRate)"), ("grFactor", list(c.grFactor)), ("bnFactor", list(c.bnFactor)),
            ("block_step", "\(c.blockStep)"), ("scale_list", list(c.scaleList)), ("compress_factor", python(c.compressFactor)),
            ("step", "\(c.step)"), ("stepmode", "'\(c.stepMode.rawValue)'"), ("bnAfter", "True"), ("epochs", "\(o.epochs)"),
            ("start_epoch", "0"), ("batch_size", "\(o.batchSize)"), ("optimizer", "'sgd'"), ("lr", python(o.learningRate)),
            ("lr_type", "'\(o.schedule.rawValue)'"), ("decay_rate", "0.1"), ("momentum", python(o.optimizer.momentum)),
            ("weight_decay", python(o.optimizer.weightDecay)), ("nScales", "\(c.scaleList.count)"),
            ("splits", "['train', 'val']"), ("num_classes", "\(c.numClasses)"), ("num_exits", "\(c.exitCount)"),
            ("input_size", "\(c.inputSize)"),
        ]
        return "Namespace(" + fields.map { "\($0.0)=\($0.1)" }.joined(separator: ", ") + ")"
    }

    /// The metadata's preprocessing document with its class list, or one describing the
    /// data kind's default pipeline.
    static func preprocessing(config: RANetConfig, metadata: ModelMetadata) -> JSONValue {
        let classes = metadata.classes ?? (0..<config.numClasses).map(String.init)
        if case .object(var fields) = metadata.preprocessing ?? .null {
            fields["classes"] = .array(classes.map { .string($0) })
            return .object(fields)
        }
        let p = Preprocessing(config: config, metadata: metadata)
        return .object([
            "input_size": .number(Double(config.inputSize)),
            "scale": .string("pixel / 255"),
            "pad": .object(["each_side": .number(Double(p.pad)), "value_before_normalize": .number(0)]),
            "mean": .array(p.mean.map { .number(Double($0)) }),
            "std": .array(p.std.map { .number(Double($0)) }),
            "classes": .array(classes.map { .string($0) }),
        ])
    }
}
