import Foundation

/// Chooses, batch by batch, the early-exit operating point a server runs at, so that the
/// time a request waits stays under a latency target while accuracy stays at or above a
/// floor: spend less per image when the queue grows, more when it drains.
///
/// The operating points are threshold sets calibrated once on validation data
/// (``Calibration/operatingPoints(validation:labels:opsPerExit:fingerprint:)``), each with
/// its expected operations per image and validation top-1. The controller measures the
/// service's seconds per operation (a moving average over the batches run) and predicts,
/// for each point, how long the images waiting now would take to drain,
/// `(waiting + 1) × operations(point) × seconds per operation`, and how busy the arrivals
/// would keep the service, `arrival rate × operations(point) × seconds per operation`. It
/// picks the most accurate point whose drain fits within ``headroom`` of the target and whose
/// load stays under ``utilizationLimit`` (the queue says where the service is; the rate, where
/// it is going before the queue shows it); it steps down (cheaper) at once, and back up only
/// when the richer point fits within ``hysteresis`` of both for ``stepsBeforeRaising``
/// decisions in a row, so that it does not flap. At the cheapest point
/// allowed by the floor and still too slow, ``shouldShed(waiting:)`` says to refuse new work
/// rather than queue it without bound.
public struct LoadAdaptiveBudget: Sendable {
    /// The points, cheapest first, that meet the accuracy floor.
    public let points: [ExitThresholds]
    /// The time a request may wait and run, in seconds.
    public let latencyTarget: Double
    /// The share of the target a drain prediction may use (the rest covers the p99's spread).
    public let headroom = 0.5
    /// The share of ``headroom`` a richer point's prediction must stay under to be taken.
    public let hysteresis = 0.6
    /// The share of the service's time the arrivals may keep it busy at a point: a service
    /// near full use queues every burst, and the p99 is made of bursts.
    public let utilizationLimit = 0.7
    /// Decisions in a row a richer point must fit before it is taken.
    public let stepsBeforeRaising = 3
    /// The point in use, an index into ``points``.
    public private(set) var current: Int
    /// Seconds per operation measured so far (a moving average), nil before the first batch.
    public private(set) var secondsPerOperation: Double?
    private var fitsRicher = 0

    /// A controller over `points` (any order) that keeps those with validation top-1 at or
    /// above `accuracyFloor` (percent), starting at the most accurate.
    ///
    /// - Throws: ``ThresholdError`` when no point carries its expected operations and
    ///   accuracy, or none meets the floor.
    public init(points: [ExitThresholds], latencyTarget: Double, accuracyFloor: Double) throws {
        guard latencyTarget > 0, latencyTarget.isFinite else { throw ThresholdError("the latency target must be a positive number of seconds") }
        guard points.allSatisfy({ $0.expectedOps != nil && $0.validationAccuracy != nil }) else {
            throw ThresholdError("every operating point needs its expected operations and validation accuracy (calibrate them)")
        }
        let kept = points.filter { $0.validationAccuracy! >= accuracyFloor }.sorted { $0.expectedOps! < $1.expectedOps! }
        guard !kept.isEmpty else {
            let best = points.compactMap(\.validationAccuracy).max() ?? 0
            throw ThresholdError(String(format: "no operating point reaches the accuracy floor of %.2f (the best reaches %.2f)", accuracyFloor, best))
        }
        self.points = kept
        self.latencyTarget = latencyTarget
        current = kept.count - 1
    }

    /// The thresholds of the point in use.
    public var thresholds: ExitThresholds { points[current] }

    /// Records a batch that ran `operations` in all in `seconds`.
    public mutating func record(operations: Double, seconds: Double) {
        guard operations > 0, seconds > 0, seconds.isFinite else { return }
        let measured = seconds / operations
        secondsPerOperation = secondsPerOperation.map { 0.8 * $0 + 0.2 * measured } ?? measured
    }

    /// The predicted seconds to drain `waiting` images and one more at point `index`.
    public func drainSeconds(waiting: Int, at index: Int) -> Double {
        Double(waiting + 1) * points[index].expectedOps! * (secondsPerOperation ?? 0)
    }

    /// The predicted share of the service's time that `arrivalRate` images per second
    /// would take at point `index`.
    public func utilization(arrivalRate: Double, at index: Int) -> Double {
        arrivalRate * points[index].expectedOps! * (secondsPerOperation ?? 0)
    }

    /// Chooses the point for the next batch, with `waiting` images queued (the batch
    /// included) and images arriving at `arrivalRate` per second (0 when unknown).
    public mutating func choose(waiting: Int, arrivalRate: Double = 0) -> ExitThresholds {
        let budget = latencyTarget * headroom
        func fits(_ index: Int, within share: Double) -> Bool {
            drainSeconds(waiting: waiting, at: index) <= budget * share
                && utilization(arrivalRate: arrivalRate, at: index) <= utilizationLimit * share
        }
        let fitting = points.indices.last { fits($0, within: 1) } ?? 0
        if fitting < current {
            current = fitting
            fitsRicher = 0
        } else if current + 1 < points.count, fits(current + 1, within: hysteresis) {
            fitsRicher += 1
            if fitsRicher >= stepsBeforeRaising {
                current += 1
                fitsRicher = 0
            }
        } else {
            fitsRicher = 0
        }
        return thresholds
    }

    /// True when even the cheapest point would not drain `waiting` images and a new one
    /// within the target: a new request should be refused (503) rather than queued.
    ///
    /// With nothing waiting it is always false: refusing a request the service could start
    /// at once gains nothing, and only the batches that run update the measured cost, so an
    /// estimate spoiled by one slow batch (the cores taken by other work) would otherwise
    /// refuse everything from then on.
    public func shouldShed(waiting: Int) -> Bool {
        waiting > 0 && drainSeconds(waiting: waiting, at: 0) > latencyTarget
    }
}
