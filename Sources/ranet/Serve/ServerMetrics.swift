import Foundation
import Hummingbird
import Prometheus
import RANet

/// What `ranet serve` reports at `/metrics`, in Prometheus' text format: request, queue and
/// compute time histograms, batch sizes, images per exit, the operating point, the queue
/// depth and the requests shed.
final class ServerMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let requestSeconds: DurationHistogram
    private let queueSeconds: DurationHistogram
    private let computeSeconds: DurationHistogram
    private let batchSizes: ValueHistogram
    private let perExit: [Counter]
    private let shed: Counter
    private let operatingPoint: Gauge
    private let queueDepth: Gauge

    init(exits: Int) {
        func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "ranet", metricName: metric, unitName: unit, helpText: help)
        }
        let times: [Duration] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000].map { .milliseconds($0) }
        requestSeconds = registry.makeDurationHistogram(
            descriptor: name("request_duration", "seconds", "Time from an infer request's arrival to its answer."), buckets: times)
        queueSeconds = registry.makeDurationHistogram(descriptor: name("queue_duration", "seconds", "Time an image waited for its batch."), buckets: times)
        computeSeconds = registry.makeDurationHistogram(descriptor: name("compute_duration", "seconds", "Time a batch computed."), buckets: times)
        batchSizes = registry.makeValueHistogram(descriptor: name("batch", "size", "Images per batch."), buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256])
        let exitImages = name("exit_images", "total", "Images that left at each exit (counted from 1).")
        var counters: [Counter] = []
        for exit in 1...exits { counters.append(registry.makeCounter(descriptor: exitImages, labels: [("exit", String(exit))])) }
        perExit = counters
        shed = registry.makeCounter(descriptor: name("shed_requests", "total", "Requests refused with 503 (queue full or overloaded)."))
        operatingPoint = registry.makeGauge(
            descriptor: name("operating_point", "index", "The early-exit operating point in use (0 the cheapest); -1 for fixed thresholds."))
        queueDepth = registry.makeGauge(descriptor: name("queue_depth", "images", "Images waiting for a batch."))
        operatingPoint.set(-1.0)
    }

    /// Records a batch the service ran.
    @Sendable func record(_ batch: ClassificationService.BatchReport) {
        for wait in batch.queueSeconds { queueSeconds.record(.nanoseconds(Int64(wait * 1e9))) }
        computeSeconds.record(.nanoseconds(Int64(batch.computeSeconds * 1e9)))
        batchSizes.record(Double(batch.size))
        for exit in batch.exits { perExit[exit].increment() }
        if let point = batch.operatingPoint { operatingPoint.set(Double(point)) }
    }

    /// Records an answered request and returns its response.
    func answered(_ response: Response, since start: ContinuousClock.Instant, shed wasShed: Bool = false) -> Response {
        requestSeconds.record(ContinuousClock.now - start)
        if wasShed { shed.increment() }
        return response
    }

    /// The metrics as Prometheus text, the queue depth read now.
    func text(service: ClassificationService) -> [UInt8] {
        queueDepth.set(Double(service.queueDepth))
        return registry.emitToBuffer()
    }
}
