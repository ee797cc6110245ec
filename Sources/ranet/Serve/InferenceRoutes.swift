import Foundation
import HTTPTypes
import Hummingbird
import RANet

/// The Open Inference Protocol's REST routes over a ``ClassificationService``: health,
/// metadata, config, infer, and the Prometheus text at `/metrics`.
struct InferenceRoutes: Sendable {
    let inference: OpenInferenceProtocol
    let service: ClassificationService
    let metrics: ServerMetrics
    let readiness: Readiness
    let maxBodyBytes: Int
    let deadline: Duration?

    static let headerLength = HTTPField.Name("Inference-Header-Content-Length")!

    func add(to router: Router<BasicRequestContext>) {
        router.get("/v2/health/live") { _, _ in HTTPResponse.Status.ok }
        router.get("/v2/health/ready") { _, _ in readiness.isReady ? HTTPResponse.Status.ok : .serviceUnavailable }
        router.get("/v2") { _, _ in json(.ok, OpenInferenceProtocol.serverMetadata(version: RANetCommand.version)) }
        router.get("/v2/models/:name") { _, context in
            try checkName(context) ?? json(.ok, inference.modelMetadata)
        }
        router.get("/v2/models/:name/ready") { _, context in
            try checkName(context) ?? Response(status: readiness.isReady ? .ok : .serviceUnavailable)
        }
        router.get("/v2/models/:name/config") { _, context in
            try checkName(context) ?? json(.ok, inference.modelConfig(maxBatchSize: service.options.maxBatch))
        }
        router.post("/v2/models/:name/infer") { request, context in
            if let refusal = try checkName(context) { return refusal }
            return await infer(request)
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(bytes: metrics.text(service: service))))
        }
    }

    private func checkName(_ context: BasicRequestContext) throws -> Response? {
        let name = try context.parameters.require("name")
        return name == inference.modelName ? nil : errorResponse(.notFound, "unknown model '\(name)'; this server has '\(inference.modelName)'")
    }

    private func infer(_ request: Request) async -> Response {
        let start = ContinuousClock.now
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: maxBodyBytes)
        } catch {
            return metrics.answered(errorResponse(.badRequest, "the request body is over --max-body-bytes (\(maxBodyBytes))"), since: start)
        }
        let headerLength = request.headers[Self.headerLength].map { Int($0) }
        if let headerLength, headerLength == nil {
            return metrics.answered(errorResponse(.badRequest, "Inference-Header-Content-Length is not a number"), since: start)
        }
        do {
            let parsed = try inference.parseInfer(body: Data(buffer: body), headerLength: headerLength ?? nil)
            let until = deadline.map { start + $0 }
            let model = service.model
            @Sendable func classify(_ i: Int) async throws -> Prediction {
                switch parsed.images {
                case .tensor(let tensor):
                    let size = tensor.values.count / tensor.shape[0]
                    let image = try Tensor(shape: model.imageShape, values: Array(tensor.values[(i * size)..<((i + 1) * size)]))
                    return try await service.classify(image, top: model.numClasses, deadline: until)
                case .encoded(let items):
                    return try await service.classify(encoded: items[i], top: model.numClasses, deadline: until)
                }
            }
            // The images of one request join the batch as separate calls; a request of one
            // image (the usual case under load) needs no child task for it.
            let predictions: [Prediction] = parsed.images.count == 1 ? [try await classify(0)] :
                try await withThrowingTaskGroup(of: (Int, Prediction).self) { group in
                    for i in 0..<parsed.images.count { group.addTask { (i, try await classify(i)) } }
                    var results = [Prediction?](repeating: nil, count: parsed.images.count)
                    for try await (i, prediction) in group { results[i] = prediction }
                    return results.map { $0! }
                }
            var parameters: [String: JSONValue] = [:]
            if let point = service.statistics.operatingPoint {
                parameters["operating_point"] = .number(Double(point))
                parameters["expected_operations"] = .number(service.thresholds.expectedOps ?? 0)
            }
            let (data, length) = inference.encodeResponse(predictions, for: parsed, parameters: parameters)
            var headers: HTTPFields = [.contentType: length == nil ? "application/json" : "application/octet-stream"]
            if let length { headers[Self.headerLength] = String(length) }
            return metrics.answered(Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(data: data))), since: start)
        } catch let failure as ClassificationService.ServiceError {
            switch failure {
            case .overloaded, .shutDown:
                var response = errorResponse(.serviceUnavailable, failure.description)
                response.headers[.retryAfter] = "1"
                return metrics.answered(response, since: start, shed: true)
            case .deadlinePassed:
                return metrics.answered(errorResponse(.gatewayTimeout, failure.description), since: start)
            }
        } catch let failure as OpenInferenceProtocol.RequestError {
            return metrics.answered(errorResponse(.badRequest, failure.message), since: start)
        } catch let failure as ImageError {
            return metrics.answered(errorResponse(.badRequest, "an image cannot be decoded: \(failure)"), since: start)
        } catch let failure as ShapeError {
            return metrics.answered(errorResponse(.badRequest, "\(failure)"), since: start)
        } catch {
            return metrics.answered(errorResponse(.internalServerError, "\(error)"), since: start)
        }
    }

    private func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: value.description)))
    }

    private func errorResponse(_ status: HTTPResponse.Status, _ message: String) -> Response {
        json(status, .object(["error": .string(message)]))
    }
}

/// Whether the server answers "ready": false from SIGTERM on, while it drains.
final class Readiness: @unchecked Sendable {
    private let lock = NSLock()
    private var ready = true
    var isReady: Bool { lock.withLock { ready } }
    func drain() { lock.withLock { ready = false } }
}
