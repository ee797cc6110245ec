import Foundation

/// Confidence thresholds for early exit: an image leaves at the first exit whose top
/// softmax probability is ≥ that exit's threshold. The last threshold is always reached.
///
/// Saved as JSON with the identity of the model they were calibrated for, so a file made
/// for another model is refused instead of silently misused.
public struct ExitThresholds: Sendable, Equatable {
    /// One threshold per exit: an image leaves at the first exit whose top probability
    /// reaches its value.
    public var values: [Float]
    /// ``RANetModel/fingerprint`` of the model they were made for, if known.
    public var modelFingerprint: String?
    /// Average operations per image on the calibration data (the authors' counting).
    public var expectedOps: Double?
    /// Top-1 accuracy on the calibration data, in percent.
    public var validationAccuracy: Double?
    /// The budget they were chosen for, in operations per image.
    public var budget: Double?

    /// Thresholds with what is known about where they came from.
    public init(values: [Float], modelFingerprint: String? = nil, expectedOps: Double? = nil,
                validationAccuracy: Double? = nil, budget: Double? = nil) {
        self.values = values
        self.modelFingerprint = modelFingerprint
        self.expectedOps = expectedOps
        self.validationAccuracy = validationAccuracy
        self.budget = budget
    }

    /// Checks that the thresholds fit `model`: one per exit, no NaN, and made for it.
    public func check(for model: RANetModel) throws {
        guard values.count == model.exitCount else {
            throw ThresholdError("\(values.count) thresholds given, but the model has \(model.exitCount) exits")
        }
        if let i = values.firstIndex(where: \.isNaN) { throw ThresholdError("threshold \(i) is NaN") }
        if let fingerprint = modelFingerprint, fingerprint != model.fingerprint {
            throw ThresholdError("these thresholds were calibrated for another model (fingerprint \(fingerprint), this model is \(model.fingerprint))")
        }
    }

    /// The file's contents: thresholds and what is known about them.
    public var json: JSONValue {
        var fields: [String: JSONValue] = [
            "exits": .number(Double(values.count)),
            "thresholds": .array(values.map { .number(Double($0)) }),
        ]
        if let modelFingerprint { fields["model"] = .object(["fingerprint": .string(modelFingerprint)]) }
        if let expectedOps { fields["expected_ops"] = .number(expectedOps) }
        if let validationAccuracy { fields["val_accuracy"] = .number(validationAccuracy) }
        if let budget { fields["budget_ops"] = .number(budget) }
        return .object(fields)
    }

    /// Writes the thresholds file (complete or not at all).
    public func write(to url: URL) throws {
        try writeFileAtomically(Data((json.prettyDescription + "\n").utf8), to: url)
    }

    /// Reads a thresholds file that ``write(to:)`` or `ranet calibrate` wrote.
    public static func read(contentsOf url: URL) throws -> ExitThresholds {
        do {
            return try ExitThresholds(json: try JSONValue.parse(try readFile(url, what: "thresholds")))
        } catch let error as JSONValue.ParseError {
            throw FileError(path: url.path, message: "not valid JSON: \(error)")
        } catch let error as ThresholdError {
            throw FileError(path: url.path, message: error.message)
        }
    }

    /// Reads the JSON form written by ``json``.
    public init(json value: JSONValue) throws {
        guard case .array(let items) = value["thresholds"] else { throw ThresholdError("no 'thresholds' list") }
        let values = try items.map { item -> Float in
            guard let v = item.doubleValue else { throw ThresholdError("thresholds must be numbers") }
            return Float(v)
        }
        if let exits = value["exits"]?.intValue, exits != values.count {
            throw ThresholdError("says \(exits) exits but lists \(values.count) thresholds")
        }
        self.init(values: values, modelFingerprint: value["model"]?["fingerprint"]?.stringValue,
                  expectedOps: value["expected_ops"]?.doubleValue,
                  validationAccuracy: value["val_accuracy"]?.doubleValue, budget: value["budget_ops"]?.doubleValue)
    }
}

/// Thresholds that do not fit a model, or a budget that cannot be met.
public struct ThresholdError: Error, CustomStringConvertible {
    /// What is wrong, in one line.
    public let message: String
    /// An error with this message.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}
