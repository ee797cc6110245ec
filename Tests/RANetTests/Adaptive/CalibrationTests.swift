import Foundation
import RANet
import XCTest

final class CalibrationTests: XCTestCase {
    private func reference() throws -> (ExitConfidences, [Int], [Double]) {
        let folder = try TestData.sharedItem("reference/dynamic")
        let val = try ExitConfidences(probabilities: NpyFile.readFloat32(contentsOf: folder.appendingPathComponent("val_probs.npy")))
        return (val, try BudgetedClassificationTests.labels(folder.appendingPathComponent("val_targets.npy")), [5e6, 11.4e6, 19.2e6, 28.4e6, 39e6, 51e6])
    }

    func testBudgetsAreMetWithTheBestAccuracyOfTheFamily() throws {
        let (val, labels, ops) = try reference()
        var previous = -1.0
        for budget in [6e6, 15e6, 25e6, 40e6, 60e6] {
            let t = try Calibration.thresholds(for: .operations(budget), validation: val, labels: labels, opsPerExit: ops)
            XCTAssertLessThanOrEqual(t.expectedOps!, budget)
            XCTAssertGreaterThanOrEqual(t.validationAccuracy!, previous, "more budget never lowers accuracy")
            previous = t.validationAccuracy!
            // At least as good as every row of the authors' sweep that fits the budget.
            for p in 1...39 {
                let authors = BudgetedClassification.thresholds(val, proportions: BudgetedClassification.geometricProportions(step: p, exits: 6))
                let outcome = BudgetedClassification.evaluate(val, targets: labels, thresholds: authors, opsPerExit: ops)
                if outcome.expectedOps <= budget { XCTAssertGreaterThanOrEqual(t.validationAccuracy!, outcome.accuracy) }
            }
        }
    }

    func testTheCheapestWithinPointsOfTheLastExit() throws {
        let (val, labels, ops) = try reference()
        let last = BudgetedClassification.evaluate(val, targets: labels, thresholds: [2, 2, 2, 2, 2, -1], opsPerExit: ops).accuracy
        let t = try Calibration.thresholds(for: .accuracyWithin(points: 0.5), validation: val, labels: labels, opsPerExit: ops)
        XCTAssertGreaterThanOrEqual(t.validationAccuracy!, last - 0.5)
        XCTAssertLessThan(t.expectedOps!, ops.last!, "some images leave early")
        XCTAssertNil(t.budget)
        // Nothing in the family is cheaper at that accuracy: a budget just under its cost buys less.
        let cheaper = try Calibration.thresholds(for: .operations(t.expectedOps! * 0.99), validation: val, labels: labels, opsPerExit: ops)
        XCTAssertLessThan(cheaper.validationAccuracy!, last - 0.5)
        // A wider margin never costs more; no margin is the last exit's accuracy at the least.
        let wide = try Calibration.thresholds(for: .accuracyWithin(points: 2), validation: val, labels: labels, opsPerExit: ops)
        XCTAssertLessThanOrEqual(wide.expectedOps!, t.expectedOps!)
        XCTAssertGreaterThanOrEqual(try Calibration.thresholds(for: .accuracyWithin(points: 0), validation: val, labels: labels, opsPerExit: ops).validationAccuracy!, last)
        XCTAssertThrowsMessage(try Calibration.thresholds(for: .accuracyWithin(points: -1), validation: val, labels: labels, opsPerExit: ops), contains: "non-negative")
    }

    func testImpossibleBudgets() throws {
        let (val, labels, ops) = try reference()
        XCTAssertThrowsMessage(try Calibration.thresholds(for: .operations(4e6), validation: val, labels: labels, opsPerExit: ops), contains: "below the first exit's cost")
        XCTAssertThrowsMessage(try Calibration.thresholds(for: .fractionOfFull(0.05), validation: val, labels: labels, opsPerExit: ops), contains: "below")
        XCTAssertThrowsMessage(try Calibration.thresholds(for: .operations(2e7), validation: val, labels: Array(labels.dropFirst()), opsPerExit: ops), contains: "labels")
        XCTAssertThrowsMessage(try Calibration.thresholds(for: .operations(2e7), validation: val, labels: labels.map { $0 + 10 }, opsPerExit: ops), contains: "out of range")
    }

    func testBudgetParsing() throws {
        XCTAssertEqual(try Budget(parsing: "20M"), .operations(20e6))
        XCTAssertEqual(try Budget(parsing: "1.5G"), .operations(1.5e9))
        XCTAssertEqual(try Budget(parsing: "350000"), .operations(350_000))
        XCTAssertEqual(try Budget(parsing: "0.4x"), .fractionOfFull(0.4))
        XCTAssertEqual(Budget.fractionOfFull(0.5).operations(fullOps: 10), 5)
        for bad in ["", "fast", "-3M", "0x", "nanM"] { XCTAssertThrowsMessage(try Budget(parsing: bad), contains: "cannot read budget") }
    }
}
