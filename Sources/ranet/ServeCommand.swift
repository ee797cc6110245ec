import ArgumentParser
import Foundation
import Hummingbird
import Logging
import UnixSignals
import RANet

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the model over HTTP with the Open Inference Protocol (KServe v2), batching concurrent requests.",
        discussion: """
            Endpoints: GET /v2/health/live, /v2/health/ready, /v2, /v2/models/NAME, /v2/models/NAME/ready, \
            /v2/models/NAME/config; POST /v2/models/NAME/infer (input 'input' FP32 [N,3,H,W] or 'image' BYTES [N] of \
            encoded images; JSON or the binary tensor extension; outputs 'probabilities', 'exit' (from 1), \
            'operations'; the classification extension); GET /metrics (Prometheus). tritonclient.http drives it as is.

            Early exit runs at the model's own thresholds, or --thresholds; with --calibration-data and \
            --latency-target, the thresholds follow the load: each batch runs at the most accurate operating point \
            that keeps the queue's wait under half the target, never below --accuracy-floor, and a request beyond what \
            the cheapest point can serve in time is refused (503, Retry-After). SIGTERM: not ready at once, serves for \
            --drain-seconds, finishes what it accepted, exits 0.

            Example:
              ranet serve --port 8000 --calibration-data val-images-idx3-ubyte.gz --latency-target 50
            """)

    @OptionGroup var source: ModelOptions
    @OptionGroup var engine: EngineOptions

    @Option(help: "The address to listen on (loopback by default).")
    var host = "127.0.0.1"

    @Option(help: "The port (0: any free port; the one taken is printed).")
    var port = 8000

    @Option(name: .customLong("model-name"), help: "The name clients address the model by.")
    var modelName = "ranet"

    @Option(help: ArgumentHelp("A thresholds file written by `ranet calibrate`.", valueName: "file"))
    var thresholds: String?

    @Option(help: ArgumentHelp("Labeled validation data to calibrate the load-following operating points on (IDX or CIFAR binary).", valueName: "file"))
    var calibrationData: String?

    @Option(help: ArgumentHelp("An int64 .npy selecting the calibration records.", valueName: "file"))
    var calibrationIndices: String?

    @Option(name: .customLong("latency-target"), help: ArgumentHelp("The latency to keep requests under, in milliseconds (with --calibration-data).", valueName: "ms"))
    var latencyTarget: Double?

    @Option(name: .customLong("accuracy-floor"), help: ArgumentHelp("The lowest validation top-1 (percent) an operating point may have (default: the last exit's minus 1 point).", valueName: "percent"))
    var accuracyFloor: Double?

    @Option(name: .customLong("max-batch"), help: "The most images one batch runs.")
    var maxBatch = 64

    @Option(name: .customLong("max-queue-delay-us"), help: "How long a batch's first request waits for others, in microseconds.")
    var maxQueueDelayMicroseconds = 0

    @Option(name: .customLong("max-queue"), help: "The most images that may wait; beyond them a request is refused with 503.")
    var maxQueue = 1024

    @Option(name: .customLong("max-body-bytes"), help: "The largest request body accepted.")
    var maxBodyBytes = 64 << 20

    @Option(name: .customLong("deadline-ms"), help: ArgumentHelp("Drop a request that has not started computing this long after it came (504).", valueName: "ms"))
    var deadlineMilliseconds: Double?

    @Option(name: .customLong("drain-seconds"), help: "After SIGTERM, how long to keep serving while reporting not ready.")
    var drainSeconds = 5.0

    @Option(help: "Threads a batch uses (default: all cores but one, which parses requests and decodes images).")
    var threads: Int?

    func validate() throws {
        if thresholds != nil && calibrationData != nil { throw ValidationError("give either --thresholds or --calibration-data") }
        if (calibrationData == nil) != (latencyTarget == nil) { throw ValidationError("--calibration-data and --latency-target go together") }
        if let latencyTarget, !(latencyTarget > 0) { throw ValidationError("--latency-target must be a positive number of milliseconds") }
        if accuracyFloor != nil && calibrationData == nil { throw ValidationError("--accuracy-floor needs --calibration-data") }
        if maxBatch < 1 || maxQueue < 1 { throw ValidationError("--max-batch and --max-queue must be at least 1") }
        if maxQueueDelayMicroseconds < 0 { throw ValidationError("--max-queue-delay-us must not be negative") }
        if maxBodyBytes < 1 { throw ValidationError("--max-body-bytes must be positive") }
        if let deadlineMilliseconds, !(deadlineMilliseconds > 0) { throw ValidationError("--deadline-ms must be positive") }
        if !(drainSeconds >= 0) { throw ValidationError("--drain-seconds must not be negative") }
        if !(0...65535).contains(port) { throw ValidationError("--port must be 0 to 65535") }
    }

    func run() async throws {
        // Requests are parsed and their images decoded on the HTTP threads while a batch
        // computes; a batch on every core would make the two take turns (on 2 cores, one compute
        // thread serves more requests within the same p99 than two: the Serving article).
        let computeThreads = threads ?? max(1, ProcessInfo.processInfo.activeProcessorCount - 1)
        let model = try source.load(options: engine.options(threads: computeThreads))
        let metrics = ServerMetrics(exits: model.exitCount)
        let options = ClassificationService.Options(maxBatch: maxBatch, maxQueueDelay: .microseconds(maxQueueDelayMicroseconds), maxQueue: maxQueue)
        let service: ClassificationService
        if let calibrationData, let latencyTarget {
            let budget = try loadFollowingBudget(model: model, data: calibrationData, latencyTarget: latencyTarget / 1000)
            service = try ClassificationService(model: model, budget: budget, options: options, observer: metrics.record)
        } else {
            let fixed = try thresholds.map { try ThresholdOptions.read($0, for: model) }
            service = try ClassificationService(model: model, thresholds: fixed, options: options, observer: metrics.record)
        }
        let readiness = Readiness()
        let router = Router()
        InferenceRoutes(inference: OpenInferenceProtocol(modelName: modelName, model: model), service: service, metrics: metrics,
                        readiness: readiness, maxBodyBytes: maxBodyBytes, deadline: deadlineMilliseconds.map { .microseconds(Int64($0 * 1000)) })
            .add(to: router)
        var logger = Logger(label: "ranet-serve")
        logger.logLevel = .warning
        let name = modelName
        // A listen queue as long as the kernel allows (somaxconn): clients that open many
        // connections at once would otherwise overflow Hummingbird's default of 256 and wait a
        // second for their SYN to be sent again.
        let configuration = ApplicationConfiguration(address: .hostname(host, port: port), serverName: "ranet", backlog: 4096)
        let app = Application(router: router, configuration: configuration,
                              onServerRunning: { channel in
                                  let port = channel.localAddress?.port ?? 0
                                  print("serving '\(name)' on http://\(host):\(port) (Open Inference Protocol v2)")
                                  fflush(stdout)
                              }, logger: logger)
        // SIGTERM: report not ready at once, keep serving for the drain window, then shut
        // down gracefully (SIGINT is ServiceLifecycle's graceful shutdown signal here).
        signal(SIGTERM, SIG_IGN)
        let terminate = DispatchSource.makeSignalSource(signal: SIGTERM)
        let drain = drainSeconds
        terminate.setEventHandler {
            readiness.drain()
            FileHandle.standardError.write(Data("SIGTERM: not ready; draining for \(drain) s\n".utf8))
            DispatchQueue.global().asyncAfter(deadline: .now() + drain) { kill(getpid(), SIGINT) }
        }
        terminate.resume()
        try await app.runService(gracefulShutdownSignals: [UnixSignal.sigint])
        terminate.cancel()
        await service.shutdown()
        print("stopped")
    }

    /// The operating points calibrated on the validation data, with the floor defaulting
    /// to the last exit's validation top-1 minus one point.
    private func loadFollowingBudget(model: RANetModel, data path: String, latencyTarget: Double) throws -> LoadAdaptiveBudget {
        let evaluation = try ThresholdOptions.evaluate(model, on: path, indices: calibrationIndices, label: "calibrating operating points")
        let points = try Calibration.operatingPoints(validation: evaluation.confidences, labels: evaluation.labels,
                                                     opsPerExit: model.operationCount.opsPerExit, fingerprint: model.fingerprint)
        let floor = accuracyFloor ?? evaluation.exits.last!.top1 - 1
        let budget = try LoadAdaptiveBudget(points: points, latencyTarget: latencyTarget, accuracyFloor: floor)
        print(String(format: "%d operating points from %.2fM to %.2fM operations per image (validation top-1 %.2f to %.2f, floor %.2f)",
                     budget.points.count, budget.points.first!.expectedOps! / 1e6, budget.points.last!.expectedOps! / 1e6,
                     budget.points.first!.validationAccuracy!, budget.points.last!.validationAccuracy!, floor))
        return budget
    }
}
