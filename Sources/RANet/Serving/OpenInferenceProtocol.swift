import Foundation

/// The Open Inference Protocol (KServe v2, as Triton, OpenVINO Model Server and MLServer
/// speak it) for one RANet model: the metadata documents, and infer requests and responses
/// in JSON and with the binary tensor extension. Free of any HTTP server, so that any Swift
/// server can route to it; `ranet serve` does so with Hummingbird.
///
/// Inputs (one per request):
/// - `input`: FP32, `[N, 3, H, W]`, preprocessed as the model's pipeline does;
/// - `image`: BYTES, `[N]`, each element an encoded image (JPEG, PNG, WebP, …), in the binary
///   extension length-prefixed (4 bytes, little-endian), in JSON base64 strings.
///
/// Outputs (all unless the request names some): `probabilities` (FP32, `[N, classes]`, the
/// softmax at the exit taken; with the classification extension, BYTES `[N, k]` of
/// `"value:index:label"`), `exit` (INT32, `[N]`, counted from 1 as the paper does) and
/// `operations` (FP32, `[N]`, the operations spent on each image).
public struct OpenInferenceProtocol: Sendable {
    /// The name clients address the model by.
    public let modelName: String
    /// The model.
    public let model: RANetModel

    /// The protocol of `model` under `modelName`.
    public init(modelName: String, model: RANetModel) {
        self.modelName = modelName
        self.model = model
    }

    /// A request the protocol refuses: the message goes back as `{"error": ...}` with status 400.
    public struct RequestError: Error, CustomStringConvertible {
        /// What is wrong with the request, in one line.
        public let message: String
        /// The message.
        public var description: String { message }
        init(_ message: String) { self.message = message }
    }

    /// The images of a request.
    public enum Images: Sendable {
        /// Preprocessed images, N×3×H×W.
        case tensor(Tensor)
        /// Encoded images, one per element.
        case encoded([Data])

        /// How many images.
        public var count: Int {
            switch self {
            case .tensor(let t): t.shape[0]
            case .encoded(let items): items.count
            }
        }
    }

    /// A parsed infer request.
    public struct InferRequest: Sendable {
        /// The client's request id, echoed in the response.
        public var id: String?
        /// The images to classify.
        public var images: Images
        /// The outputs asked for, by name (every output when nil).
        public var outputs: [String]?
        /// Per output name: classes to return with the classification extension.
        public var classification: [String: Int]
        /// Whether each output goes back as binary data, by name.
        public var binaryOutputs: Set<String>
    }

    static let outputNames = ["probabilities", "exit", "operations"]

    // MARK: - Metadata

    /// `GET /v2`: the server's name, version and extensions.
    public static func serverMetadata(version: String) -> JSONValue {
        .object(["name": .string("ranet"), "version": .string(version),
                 "extensions": .array(["binary_tensor_data", "classification"].map { .string($0) })])
    }

    /// `GET /v2/models/{name}`: inputs and outputs, -1 for the batch.
    public var modelMetadata: JSONValue {
        let side = Double(model.config.inputSize)
        func tensor(_ name: String, _ type: String, _ shape: [Double]) -> JSONValue {
            .object(["name": .string(name), "datatype": .string(type), "shape": .array(shape.map { .number($0) })])
        }
        return .object([
            "name": .string(modelName), "versions": .array([.string("1")]), "platform": .string("ranet"),
            "inputs": .array([tensor("input", "FP32", [-1, 3, side, side]), tensor("image", "BYTES", [-1])]),
            "outputs": .array([tensor("probabilities", "FP32", [-1, Double(model.numClasses)]), tensor("exit", "INT32", [-1]),
                               tensor("operations", "FP32", [-1])]),
        ])
    }

    /// `GET /v2/models/{name}/config`: what Triton's perf_analyzer reads (`max_batch_size`,
    /// inputs' and outputs' names, types and per-image dimensions).
    public func modelConfig(maxBatchSize: Int) -> JSONValue {
        let side = Double(model.config.inputSize)
        func tensor(_ name: String, _ type: String, _ dims: [Double]) -> JSONValue {
            .object(["name": .string(name), "data_type": .string("TYPE_" + (type == "BYTES" ? "STRING" : type)),
                     "dims": .array(dims.map { .number($0) })])
        }
        return .object([
            "name": .string(modelName), "platform": .string("ranet"), "max_batch_size": .number(Double(maxBatchSize)),
            "input": .array([tensor("input", "FP32", [3, side, side]), tensor("image", "BYTES", [1])]),
            "output": .array([tensor("probabilities", "FP32", [Double(model.numClasses)]), tensor("exit", "INT32", [1]),
                              tensor("operations", "FP32", [1])]),
        ])
    }

    // MARK: - Requests

    /// Parses an infer request body: JSON, or with the binary extension a JSON header of
    /// `headerLength` bytes followed by the tensors' bytes.
    ///
    /// - Throws: ``RequestError`` naming what is wrong (bad JSON, an unknown input or output,
    ///   a datatype or shape the model cannot take, binary data that does not add up).
    public func parseInfer(body: Data, headerLength: Int?) throws -> InferRequest {
        let headerBytes: Data
        var binary: Data
        if let headerLength {
            guard headerLength >= 0, headerLength <= body.count else {
                throw RequestError("Inference-Header-Content-Length \(headerLength) does not fit the body of \(body.count) bytes")
            }
            headerBytes = body.prefix(headerLength)
            binary = body.dropFirst(headerLength)
        } else {
            headerBytes = body
            binary = Data()
        }
        let header: JSONValue
        do {
            header = try JSONValue.parse(Data(headerBytes))
        } catch let error as JSONValue.ParseError {
            throw RequestError("the request is not valid JSON: \(error)")
        }
        guard case .array(let inputs)? = header["inputs"] else { throw RequestError("the request has no 'inputs' list") }
        guard inputs.count == 1, let input = inputs.first, let name = input["name"]?.stringValue else {
            throw RequestError("give exactly one input, named 'input' (FP32) or 'image' (BYTES); got \(inputs.count)")
        }
        guard let datatype = input["datatype"]?.stringValue else { throw RequestError("input '\(name)' has no datatype") }
        guard case .array(let shapeValues)? = input["shape"], !shapeValues.isEmpty,
              shapeValues.allSatisfy({ ($0.intValue ?? -1) >= 0 }) else {
            throw RequestError("input '\(name)' needs a shape of non-negative integers")
        }
        let shape = shapeValues.map { $0.intValue! }
        let binarySize = input["parameters"]?["binary_data_size"]?.intValue
        var raw: Data?
        if let binarySize {
            guard binarySize >= 0, binarySize <= binary.count else {
                throw RequestError("input '\(name)' says binary_data_size \(binarySize) but \(binary.count) bytes follow the header")
            }
            raw = binary.prefix(binarySize)
            binary = binary.dropFirst(binarySize)
        }
        let images: Images
        switch name {
        case "input":
            guard datatype == "FP32" else { throw RequestError("input 'input' must be FP32, got \(datatype)") }
            let expected = [3, model.config.inputSize, model.config.inputSize]
            guard shape.count == 4, Array(shape[1...]) == expected, shape[0] >= 1 else {
                throw RequestError("input 'input' must have shape [N, \(expected.map(String.init).joined(separator: ", "))] with N ≥ 1, got \(shape)")
            }
            let count = shape.reduce(1, *)
            var values: [Float]
            if let raw {
                guard raw.count == count * 4 else { throw RequestError("input 'input' has \(raw.count) bytes of data; shape \(shape) needs \(count * 4)") }
                values = [Float](repeating: 0, count: count)
                values.withUnsafeMutableBytes { $0.copyBytes(from: raw) }
            } else {
                guard let data = input["data"] else { throw RequestError("input 'input' has neither data nor binary_data_size") }
                values = []
                values.reserveCapacity(count)
                try Self.flatten(data, into: &values)
                guard values.count == count else { throw RequestError("input 'input' has \(values.count) values; shape \(shape) needs \(count)") }
            }
            images = .tensor(try Tensor(shape: shape, values: values))
        case "image":
            guard datatype == "BYTES" else { throw RequestError("input 'image' must be BYTES, got \(datatype)") }
            guard shape.count == 1 || (shape.count == 2 && shape[1] == 1), shape[0] >= 1 else {
                throw RequestError("input 'image' must have shape [N] with N ≥ 1, got \(shape)")
            }
            let items: [Data]
            if let raw {
                items = try Self.lengthPrefixed(raw, count: shape[0])
            } else {
                guard case .array(let strings)? = input["data"] else { throw RequestError("input 'image' has neither data nor binary_data_size") }
                items = try strings.map {
                    guard let text = $0.stringValue, let bytes = Data(base64Encoded: text) else {
                        throw RequestError("input 'image' in JSON must list base64 strings")
                    }
                    return bytes
                }
                guard items.count == shape[0] else { throw RequestError("input 'image' lists \(items.count) images; shape \(shape) says \(shape[0])") }
            }
            images = .encoded(items)
        default:
            throw RequestError("unknown input '\(name)': this model takes 'input' (FP32) or 'image' (BYTES)")
        }
        let binaryEverywhere = header["parameters"]?["binary_data_output"] == .bool(true)
        var outputs: [String]?
        var classification: [String: Int] = [:]
        var binaryOutputs = Set(binaryEverywhere ? Self.outputNames : [])
        if case .array(let requested)? = header["outputs"] {
            outputs = []
            for output in requested {
                guard let name = output["name"]?.stringValue, Self.outputNames.contains(name) else {
                    throw RequestError("unknown output '\(output["name"]?.stringValue ?? "")': outputs are \(Self.outputNames.joined(separator: ", "))")
                }
                outputs?.append(name)
                if let k = output["parameters"]?["classification"]?.intValue {
                    guard name == "probabilities", k >= 1 else { throw RequestError("classification applies to 'probabilities' with k ≥ 1") }
                    classification[name] = min(k, model.numClasses)
                }
                switch output["parameters"]?["binary_data"] {
                case .bool(true)?: binaryOutputs.insert(name)
                case .bool(false)?: binaryOutputs.remove(name)
                default: break
                }
            }
        }
        return InferRequest(id: header["id"]?.stringValue, images: images, outputs: outputs, classification: classification,
                            binaryOutputs: binaryOutputs)
    }

    private static func flatten(_ value: JSONValue, into values: inout [Float]) throws {
        switch value {
        case .number(let d): values.append(Float(d))
        case .array(let items): for item in items { try flatten(item, into: &values) }
        default: throw RequestError("input 'input' data must be numbers (flat or nested lists)")
        }
    }

    /// Elements of the binary BYTES layout: a 4-byte little-endian length, then the bytes.
    private static func lengthPrefixed(_ raw: Data, count: Int) throws -> [Data] {
        var items: [Data] = []
        var at = raw.startIndex
        while at < raw.endIndex {
            guard raw.endIndex - at >= 4 else { throw RequestError("input 'image' ends inside an element's length") }
            let length = raw[at..<at + 4].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            at += 4
            guard raw.endIndex - at >= length else { throw RequestError("input 'image' element \(items.count) says \(length) bytes but fewer follow") }
            items.append(Data(raw[at..<at + length]))
            at += length
        }
        guard items.count == count else { throw RequestError("input 'image' holds \(items.count) images; its shape says \(count)") }
        return items
    }

    // MARK: - Responses

    /// The response to `request` for its predictions (each listing every class, as
    /// ``ClassificationService`` gives them with `top` = the model's classes): the body, and
    /// the JSON header's length when binary outputs follow it.
    public func encodeResponse(_ predictions: [Prediction], for request: InferRequest,
                               parameters: [String: JSONValue] = [:]) -> (body: Data, headerLength: Int?) {
        let n = predictions.count, classes = model.numClasses
        var outputs: [JSONValue] = []
        var binary = Data()
        func add(_ name: String, _ datatype: String, _ shape: [Int], json: () -> JSONValue, bytes: () -> Data) {
            var entry: [String: JSONValue] = ["name": .string(name), "datatype": .string(datatype),
                                              "shape": .array(shape.map { .number(Double($0)) })]
            if request.binaryOutputs.contains(name) {
                let data = bytes()
                entry["parameters"] = .object(["binary_data_size": .number(Double(data.count))])
                binary.append(data)
            } else {
                entry["data"] = json()
            }
            outputs.append(.object(entry))
        }
        for name in request.outputs ?? Self.outputNames {
            switch name {
            case "probabilities":
                if let k = request.classification[name] {
                    let labels = predictions.flatMap { p in
                        p.top.prefix(k).map { score in
                            String(format: "%f:%d", score.probability, score.label)
                                + (model.metadata.classes.map { ":" + ($0.indices.contains(score.label) ? $0[score.label] : "") } ?? "")
                        }
                    }
                    add(name, "BYTES", [n, k], json: { .array(labels.map { .string($0) }) }, bytes: {
                        var data = Data()
                        for label in labels {
                            withUnsafeBytes(of: UInt32(label.utf8.count).littleEndian) { data.append(contentsOf: $0) }
                            data.append(contentsOf: label.utf8)
                        }
                        return data
                    })
                } else {
                    var rows = [Float](repeating: 0, count: n * classes)
                    for (i, p) in predictions.enumerated() {
                        for score in p.top { rows[i * classes + score.label] = score.probability }
                    }
                    add(name, "FP32", [n, classes], json: { .array(rows.map { .number(Double($0)) }) },
                        bytes: { rows.withUnsafeBytes { Data($0) } })
                }
            case "exit":
                let exits = predictions.map { Int32($0.exit + 1) }
                add(name, "INT32", [n], json: { .array(exits.map { .number(Double($0)) }) }, bytes: { exits.withUnsafeBytes { Data($0) } })
            default:
                let operations = predictions.map { Float($0.operations) }
                add(name, "FP32", [n], json: { .array(operations.map { .number(Double($0)) }) },
                    bytes: { operations.withUnsafeBytes { Data($0) } })
            }
        }
        var fields: [String: JSONValue] = ["model_name": .string(modelName), "model_version": .string("1"), "outputs": .array(outputs)]
        if let id = request.id { fields["id"] = .string(id) }
        if !parameters.isEmpty { fields["parameters"] = .object(parameters) }
        let header = Data(JSONValue.object(fields).description.utf8)
        return binary.isEmpty && !request.binaryOutputs.contains(where: { (request.outputs ?? Self.outputNames).contains($0) })
            ? (header, nil) : (header + binary, header.count)
    }
}
