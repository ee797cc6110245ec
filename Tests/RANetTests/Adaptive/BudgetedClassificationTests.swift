import Foundation
import RANet
import XCTest

final class BudgetedClassificationTests: XCTestCase {
    static func labels(_ url: URL) throws -> [Int] {
        try NpyFile.read(contentsOf: url).doubleValues.map { Int($0) }
    }

    /// The authors' 39-step sweep, row for row: thresholds equal as float32, accuracies
    /// and expected operations within 1e-6 relative.
    func testSweepMatchesTheAuthors() throws {
        let folder = try TestData.sharedItem("reference/dynamic")
        let expected = try JSONValue.parse(Data(contentsOf: folder.appendingPathComponent("expected.json")))
        guard case .array(let opsValues) = expected["ops_per_exit"], case .array(let rows) = expected["sweep"] else {
            return XCTFail("malformed expected.json")
        }
        let val = try ExitConfidences(probabilities: NpyFile.readFloat32(contentsOf: folder.appendingPathComponent("val_probs.npy")))
        let test = try ExitConfidences(probabilities: NpyFile.readFloat32(contentsOf: folder.appendingPathComponent("test_probs.npy")))
        let sweep = try BudgetedClassification.sweep(
            val: val, valTargets: try Self.labels(folder.appendingPathComponent("val_targets.npy")),
            test: test, testTargets: try Self.labels(folder.appendingPathComponent("test_targets.npy")),
            opsPerExit: opsValues.compactMap(\.doubleValue))
        XCTAssertEqual(sweep.count, rows.count)
        for (ours, theirs) in zip(sweep, rows) {
            let p = ours.p
            XCTAssertEqual(p, theirs["p"]?.intValue)
            guard case .array(let t) = theirs["thresholds"], case .array(let props) = theirs["exit_proportions"] else { return XCTFail() }
            // torch's vectorized expf and ours differ in the last bits; only ⌊N·P_k⌋ matters.
            for (a, b) in zip(ours.proportions, props.map { Float($0.doubleValue!) }) {
                XCTAssertLessThanOrEqual(abs(a - b), 4 * b.ulp, "p=\(p) proportions")
            }
            XCTAssertEqual(ours.thresholds, t.map { Float($0.doubleValue!) }, "p=\(p) thresholds")
            for (a, b, name) in [(ours.valAccuracy, theirs["val_accuracy"]!.doubleValue!, "val"),
                                 (ours.testAccuracy, theirs["test_accuracy"]!.doubleValue!, "test"),
                                 (ours.testExpectedOps, theirs["test_expected_ops"]!.doubleValue!, "ops")] {
                XCTAssertLessThanOrEqual(abs(a - b), 1e-6 * abs(b), "p=\(p) \(name): \(a) vs \(b)")
            }
        }
    }

    func testBadInputs() throws {
        let probs = try Tensor(shape: [2, 2, 2], values: [0.6, 0.4, 0.3, 0.7, 0.9, 0.1, 0.2, 0.8])
        let data = try ExitConfidences(probabilities: probs)
        XCTAssertThrowsMessage(try BudgetedClassification.sweep(val: data, valTargets: [0], test: data, testTargets: [0, 1], opsPerExit: [1, 2]),
                               contains: "2 samples but 1 labels")
        XCTAssertThrowsMessage(try BudgetedClassification.sweep(val: data, valTargets: [0, 1], test: data, testTargets: [0, 1], opsPerExit: [1]),
                               contains: "1 operation counts given for 2 exits")
        var withNaN = probs
        withNaN.values[3] = .nan
        XCTAssertThrowsMessage(try ExitConfidences(probabilities: withNaN), contains: "NaN")
        let empty = try ExitConfidences(probabilities: Tensor(zeros: [2, 0, 2]))
        XCTAssertThrowsMessage(try BudgetedClassification.sweep(val: empty, valTargets: [], test: data, testTargets: [0, 1], opsPerExit: [1, 2]),
                               contains: "empty")
    }
}
