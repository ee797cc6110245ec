import Foundation
import RANet
import XCTest

/// The controller's choices on a simulated load: a service whose batches cost what their
/// operations say, at a fixed rate, against a queue that grows, holds and drains.
final class LoadAdaptiveBudgetTests: XCTestCase {
    /// Four points from 4 M to 16 M operations per image, cheaper ones less accurate.
    private let points = [(4e6, 90.0), (8e6, 91.5), (12e6, 92.0), (16e6, 92.3)].map {
        ExitThresholds(values: [0.5, 0.5, 0], expectedOps: $0.0, validationAccuracy: $0.1)
    }

    func testTheQueueDecidesThePointWithinTheFloor() throws {
        var budget = try LoadAdaptiveBudget(points: points.reversed(), latencyTarget: 0.05, accuracyFloor: 91.0)
        XCTAssertEqual(budget.points.map(\.expectedOps!), [8e6, 12e6, 16e6], "the 90% point is under the floor; cheapest first")
        XCTAssertEqual(budget.thresholds.expectedOps, 16e6, "starts at the most accurate")
        budget.record(operations: 16e6 * 10, seconds: 0.010)   // 1 ms per 16 M-op image: 1.6e10 ops/s
        // A short queue fits the full network.
        XCTAssertEqual(budget.choose(waiting: 4).expectedOps, 16e6)
        // The headroom is half the 50 ms target: 31 images at 16 M take 31 ms, at 12 M 23 ms.
        XCTAssertEqual(budget.choose(waiting: 30).expectedOps, 12e6, "steps down at once")
        XCTAssertEqual(budget.choose(waiting: 60).expectedOps, 8e6)
        // Past what even the cheapest point allowed can drain within the target: shed.
        XCTAssertFalse(budget.shouldShed(waiting: 60))
        XCTAssertTrue(budget.shouldShed(waiting: 120))
        XCTAssertEqual(budget.choose(waiting: 500).expectedOps, 8e6, "never below the floor")
        // Back up only after three calm decisions in a row (hysteresis), one point at a time.
        XCTAssertEqual(budget.choose(waiting: 2).expectedOps, 8e6)
        XCTAssertEqual(budget.choose(waiting: 2).expectedOps, 8e6)
        XCTAssertEqual(budget.choose(waiting: 2).expectedOps, 12e6)
        XCTAssertEqual(budget.choose(waiting: 2).expectedOps, 12e6)
        XCTAssertEqual(budget.choose(waiting: 30).expectedOps, 12e6, "a busy decision resets the count")
        for _ in 0..<3 { _ = budget.choose(waiting: 2) }
        XCTAssertEqual(budget.thresholds.expectedOps, 16e6)
    }

    /// The arrival rate steps the point down before the queue shows it: at 1,000 images/s
    /// the full network would keep the service fully busy (over the 0.7 limit), 12 M ops
    /// three quarters, 8 M half.
    func testTheArrivalRateStepsDownBeforeTheQueueGrows() throws {
        var budget = try LoadAdaptiveBudget(points: points, latencyTarget: 0.05, accuracyFloor: 91.0)
        budget.record(operations: 16e6 * 10, seconds: 0.010)   // 1.6e10 ops/s
        XCTAssertEqual(budget.utilization(arrivalRate: 1000, at: budget.points.count - 1), 1.0, accuracy: 1e-9)
        XCTAssertEqual(budget.choose(waiting: 1, arrivalRate: 500).expectedOps, 16e6, "half busy: the full network")
        XCTAssertEqual(budget.choose(waiting: 1, arrivalRate: 1000).expectedOps, 8e6, "an empty queue, but the rate says")
        for _ in 0..<3 { _ = budget.choose(waiting: 1, arrivalRate: 1000) }
        XCTAssertEqual(budget.thresholds.expectedOps, 8e6, "12 M would keep it 75% busy: no step up")
    }

    /// One batch slowed by other work on the cores (a second for one image) must not make
    /// the service refuse everything: an empty queue always takes a request, the next batch
    /// runs, and the estimate comes back.
    func testASlowBatchDoesNotShedForever() throws {
        var budget = try LoadAdaptiveBudget(points: points, latencyTarget: 0.05, accuracyFloor: 91.0)
        budget.record(operations: 16e6, seconds: 1.0)
        XCTAssertTrue(budget.shouldShed(waiting: 1))
        XCTAssertFalse(budget.shouldShed(waiting: 0), "an idle service takes the request")
        for _ in 0..<40 { budget.record(operations: 16e6 * 10, seconds: 0.010) }
        XCTAssertFalse(budget.shouldShed(waiting: 20), "the estimate recovers as batches run")
    }

    /// A step of load twice what the full network can serve: the point falls, the queue stays
    /// bounded and nothing is shed; the same step with the full network only grows the queue.
    func testAStepOfTwiceTheCapacityIsAbsorbed() throws {
        let secondsPerOp = 1.0 / 1.6e10             // the full network: 1,000 images/s
        func simulate(_ budget: LoadAdaptiveBudget?) -> (maxWaiting: Int, shed: Int, points: Set<Double>) {
            var budget = budget
            var waiting = 0, maxWaiting = 0, shed = 0
            var used = Set<Double>()
            // 10 ms ticks: 1× capacity for 1 s, 2× for 2 s, 1× for 1 s.
            for tick in 0..<400 {
                let arrivals = (100..<300).contains(tick) ? 20 : 10
                for _ in 0..<arrivals {
                    if budget?.shouldShed(waiting: waiting) == true { shed += 1 } else { waiting += 1 }
                }
                maxWaiting = max(maxWaiting, waiting)
                let ops = budget?.choose(waiting: waiting).expectedOps ?? 16e6
                used.insert(ops)
                let served = min(waiting, Int(0.010 / (ops * secondsPerOp)))
                waiting -= served
                budget?.record(operations: Double(served) * ops, seconds: Double(served) * ops * secondsPerOp)
            }
            return (maxWaiting, shed, used)
        }
        let adaptive = simulate(try LoadAdaptiveBudget(points: points, latencyTarget: 0.05, accuracyFloor: 91.0))
        XCTAssertEqual(adaptive.shed, 0)
        XCTAssertLessThanOrEqual(adaptive.maxWaiting, 40, "at most the 25 ms headroom's worth of images waits")
        XCTAssertTrue(adaptive.points.contains(8e6) && adaptive.points.contains(16e6), "\(adaptive.points)")
        let fixed = simulate(nil)
        XCTAssertGreaterThan(fixed.maxWaiting, 1000, "the full network alone falls behind by 10 images a tick")
    }

    func testBadPoints() throws {
        XCTAssertThrowsMessage(try LoadAdaptiveBudget(points: points, latencyTarget: 0.05, accuracyFloor: 99), contains: "floor of 99.00", "92.30")
        XCTAssertThrowsMessage(try LoadAdaptiveBudget(points: [ExitThresholds(values: [0])], latencyTarget: 0.05, accuracyFloor: 0), contains: "calibrate")
        XCTAssertThrowsMessage(try LoadAdaptiveBudget(points: points, latencyTarget: 0, accuracyFloor: 0), contains: "latency target")
    }

    /// Points calibrated on the authors' validation probabilities form a front: cost and
    /// accuracy rise together.
    func testOperatingPointsFormAFront() throws {
        let folder = try TestData.sharedItem("reference/dynamic")
        let val = try ExitConfidences(probabilities: NpyFile.readFloat32(contentsOf: folder.appendingPathComponent("val_probs.npy")))
        let labels = try BudgetedClassificationTests.labels(folder.appendingPathComponent("val_targets.npy"))
        let front = try Calibration.operatingPoints(validation: val, labels: labels, opsPerExit: [5e6, 11.4e6, 19.2e6, 28.4e6, 39e6, 51e6])
        XCTAssertGreaterThan(front.count, 5)
        for (a, b) in zip(front, front.dropFirst()) {
            XCTAssertLessThan(a.expectedOps!, b.expectedOps!)
            XCTAssertLessThan(a.validationAccuracy!, b.validationAccuracy!)
        }
    }
}
