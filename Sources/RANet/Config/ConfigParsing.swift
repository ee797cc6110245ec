import Foundation

extension RANetConfig {
    /// Reads the authors' `args.txt`: one `Namespace(...)` line as their `main.py` writes it.
    /// Training-only fields are ignored; the result is validated.
    public static func parseArgs(_ text: String) throws -> RANetConfig {
        var fields: [String: JSONValue] = [:]
        for (key, value) in try PythonLiteral.parseNamespace(text) {
            fields[key] = JSONValue(value)
        }
        return try fromFields(fields, source: "args.txt")
    }

    /// Reads the JSON form: an object with the authors' field names, as in `specs.json`'s
    /// `config` entries (`data`, `nChannels`, `growthRate`, `step`, `stepmode`, `scale_list`,
    /// `grFactor`, `bnFactor`, `nBlocks`, `block_step`, `compress_factor`, `reduction`,
    /// optionally `input_size`). The result is validated.
    public static func parseJSON(_ data: Data) throws -> RANetConfig {
        let value: JSONValue
        do {
            value = try JSONValue.parse(data)
        } catch {
            throw ConfigError(field: "json", "not valid JSON: \(error)")
        }
        guard case .object(let fields) = value else {
            throw ConfigError(field: "json", "expected an object of config fields")
        }
        return try fromFields(fields, source: "json")
    }

    /// Reads a config file: JSON when it starts with `{`, the authors' `args.txt` otherwise.
    public static func load(contentsOf url: URL) throws -> RANetConfig {
        let data = try readFile(url, what: "config")
        if data.first(where: { !$0.isWhitespaceByte }) == UInt8(ascii: "{") {
            return try parseJSON(data)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(field: "args.txt", "\(url.path) is not text")
        }
        return try parseArgs(text)
    }

    /// The JSON form (authors' field names), as ``parseJSON(_:)`` reads it.
    public var jsonValue: JSONValue {
        .object([
            "data": .string(data.rawValue),
            "nChannels": .number(Double(nChannels)),
            "growthRate": .number(Double(growthRate)),
            "step": .number(Double(step)),
            "stepmode": .string(stepMode.rawValue),
            "scale_list": .array(scaleList.map { .number(Double($0)) }),
            "grFactor": .array(grFactor.map { .number(Double($0)) }),
            "bnFactor": .array(bnFactor.map { .number(Double($0)) }),
            "nBlocks": .number(Double(nBlocks)),
            "block_step": .number(Double(blockStep)),
            "compress_factor": .number(compressFactor),
            "reduction": .number(reduction),
            "bnAfter": .bool(true),
            "num_classes": .number(Double(numClasses)),
            "nScales": .number(Double(flowCount)),
            "input_size": .number(Double(inputSize)),
        ])
    }

    private static func fromFields(_ fields: [String: JSONValue], source: String) throws -> RANetConfig {
        func required(_ key: String) throws -> JSONValue {
            guard let v = fields[key], v != .null else { throw ConfigError(field: key, "missing from \(source)") }
            return v
        }
        func int(_ key: String) throws -> Int {
            guard let i = try required(key).intValue else { throw ConfigError(field: key, "must be an integer") }
            return i
        }
        func double(_ key: String) throws -> Double {
            guard let d = try required(key).doubleValue else { throw ConfigError(field: key, "must be a number") }
            return d
        }
        func intList(_ key: String) throws -> [Int] {
            // The authors' command line takes "1-2-3"; their Namespace holds a list.
            let v = try required(key)
            if case .string(let s) = v {
                let parts = s.split(separator: "-").map { Int($0) }
                guard !parts.isEmpty, !parts.contains(nil) else { throw ConfigError(field: key, "'\(s)' is not a list of integers") }
                return parts.map { $0! }
            }
            guard case .array(let items) = v else { throw ConfigError(field: key, "must be a list of integers") }
            return try items.map {
                guard let i = $0.intValue else { throw ConfigError(field: key, "must be a list of integers") }
                return i
            }
        }
        let dataName = try required("data")
        guard case .string(let name) = dataName else { throw ConfigError(field: "data", "must be a string") }
        guard let data = DataKind(rawValue: name) else {
            let known = DataKind.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigError(field: "data", "unknown data kind '\(name)' (known: \(known))")
        }
        guard case .string(let modeName) = try required("stepmode"), let mode = StepMode(rawValue: modeName) else {
            throw ConfigError(field: "stepmode", "must be 'even' or 'lg'")
        }
        if let bnAfter = fields["bnAfter"], bnAfter != .bool(true) {
            throw ConfigError(field: "bnAfter", "only bnAfter=True networks exist in the authors' code")
        }
        let config = RANetConfig(
            data: data, nChannels: try int("nChannels"), growthRate: try int("growthRate"),
            step: try int("step"), stepMode: mode, scaleList: try intList("scale_list"),
            grFactor: try intList("grFactor"), bnFactor: try intList("bnFactor"),
            nBlocks: try int("nBlocks"), blockStep: try int("block_step"),
            compressFactor: try double("compress_factor"), reduction: try double("reduction"),
            inputSize: fields["input_size"] == nil ? nil : try int("input_size"))
        if let classes = fields["num_classes"], classes != .null, classes.intValue != data.numClasses {
            throw ConfigError(field: "num_classes", "\(classes) does not match data '\(name)', whose heads have \(data.numClasses) classes")
        }
        if let scales = fields["nScales"], scales != .null, scales.intValue != config.flowCount {
            throw ConfigError(field: "nScales", "\(scales) does not match scale_list's \(config.flowCount) entries")
        }
        try config.validate()
        return config
    }
}

extension UInt8 {
    var isWhitespaceByte: Bool { self == 0x20 || self == 0x0A || self == 0x0D || self == 0x09 }
}

extension JSONValue {
    init(_ literal: PythonLiteral) {
        switch literal {
        case .string(let s): self = .string(s)
        case .int(let i): self = .number(Double(i))
        case .float(let d): self = .number(d)
        case .bool(let b): self = .bool(b)
        case .none: self = .null
        case .list(let items): self = .array(items.map(JSONValue.init))
        case .dict(let fields): self = .object(fields.mapValues(JSONValue.init))
        }
    }
}
