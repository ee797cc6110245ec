/// Descriptive data that travels with a model's weights.
public struct ModelMetadata: Sendable, Equatable {
    /// Class names in label order, if known.
    public var classes: [String]?
    /// The input pipeline the model was trained with (a JSON object), if known.
    public var preprocessing: JSONValue?
    /// Early-exit thresholds to use when none are given, if the model carries them.
    public var defaultThresholds: ExitThresholds?

    /// Metadata with these parts (each may be missing).
    public init(classes: [String]? = nil, preprocessing: JSONValue? = nil, defaultThresholds: ExitThresholds? = nil) {
        self.classes = classes
        self.preprocessing = preprocessing
        self.defaultThresholds = defaultThresholds
    }

    /// Reads a `preprocessing.json` document, taking its class list along.
    public init(preprocessingJSON value: JSONValue) {
        preprocessing = value
        if case .array(let names) = value["classes"] {
            classes = names.compactMap(\.stringValue)
        }
    }
}
