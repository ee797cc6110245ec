import Foundation
import RANet
import XCTest

/// `ranet dynamic`, `calibrate`, `evaluate` and `bench` as a user runs them.
final class AdaptiveCommandTests: XCTestCase, CommandLineTesting {
    private func dynamicArguments() throws -> [String] {
        let folder = try TestData.sharedItem("reference/dynamic")
        return ["--val-probs", folder.appendingPathComponent("val_probs.npy").path,
                "--val-targets", folder.appendingPathComponent("val_targets.npy").path,
                "--test-probs", folder.appendingPathComponent("test_probs.npy").path,
                "--test-targets", folder.appendingPathComponent("test_targets.npy").path]
    }

    func testDynamicPrintsTheAuthorsTable() throws {
        let result = try withArguments(["dynamic", "--json", "--ops-per-exit", "[5e6, 11.4e6, 19.2e6, 28.4e6, 39e6, 51e6]"] + dynamicArguments())
        XCTAssertEqual(result.status, 0, result.stderr)
        guard case .array(let rows) = try JSONValue.parse(result.stdout) else { return XCTFail("not a list") }
        XCTAssertEqual(rows.count, 39)
        for field in ["p", "thresholds", "val_accuracy", "test_accuracy", "test_expected_ops"] { XCTAssertNotNil(rows[0][field], field) }
        XCTAssertEqual(rows[19]["test_expected_ops"]?.doubleValue, 23_896_858)
        let text = try withArguments(["dynamic", "--ops-per-exit", "[5e6, 11.4e6, 19.2e6, 28.4e6, 39e6, 51e6]"] + dynamicArguments())
        XCTAssertTrue(text.stdout.contains("60.000"), text.stdout)
    }

    func testDynamicBadInputs() throws {
        let args = try dynamicArguments()
        assertFails(try withArguments(["dynamic", "--ops-per-exit", "[1, 2]"] + args), mentioning: "2 operation counts given for 6 exits")
        assertFails(try withArguments(["dynamic", "--ops-per-exit", "[\"a\"]"] + args), mentioning: "--ops-per-exit")
        let scratch = try TestData.temporaryFolder()
        let labels = scratch.appendingPathComponent("labels.npy")
        try NpyFile.write(int64: [Int64](repeating: 12, count: 600), shape: [600], to: labels)
        var bad = args
        bad[3] = labels.path
        assertFails(try withArguments(["dynamic", "--ops-per-exit", "[1, 2, 3, 4, 5, 6]"] + bad), mentioning: "out of range")
        let nan = scratch.appendingPathComponent("nan.npy")
        try NpyFile.write(try Tensor(shape: [6, 600, 10], values: [Float](repeating: .nan, count: 36000)), to: nan)
        bad = args
        bad[1] = nan.path
        assertFails(try withArguments(["dynamic", "--ops-per-exit", "[1, 2, 3, 4, 5, 6]"] + bad), mentioning: "NaN")
    }

    func testCalibrateThenEvaluateWithEarlyExit() throws {
        let scratch = try TestData.temporaryFolder()
        // A small labeled set made of the shipped samples' source images is not at hand, so use
        // the Fashion-MNIST test set when Debian's package is installed.
        let images = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
        guard FileManager.default.fileExists(atPath: images) else { throw XCTSkip("dataset-fashion-mnist is not installed (make test installs it)") }
        let subset = scratch.appendingPathComponent("subset.npy")
        try NpyFile.write(int64: (0..<300).map { Int64($0 * 7) }, shape: [300], to: subset)
        let thresholds = scratch.appendingPathComponent("t.json")
        let calibrated = try withArguments(["calibrate", "--data", images, "--indices", subset.path, "--budget", "0.5x", "--output", thresholds.path])
        XCTAssertEqual(calibrated.status, 0, calibrated.stderr)
        let file = try ExitThresholds.read(contentsOf: thresholds)
        XCTAssertLessThanOrEqual(file.expectedOps!, file.budget!)
        let evaluated = try withArguments(["evaluate", "--data", images, "--indices", subset.path, "--thresholds", thresholds.path, "--json",
                                           "--plot", scratch.appendingPathComponent("curve.svg").path])
        XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
        let json = try JSONValue.parse(evaluated.stdout)
        guard case .array(let exits) = json["exits"], case .array(let histogram) = json["budgeted"]?["exit_histogram"] else { return XCTFail(evaluated.stdout) }
        XCTAssertEqual(exits.count, 6)
        XCTAssertEqual(histogram.compactMap(\.intValue).reduce(0, +), 300)
        XCTAssertLessThan(json["budgeted"]!["realized_ops_per_image"]!.doubleValue!, exits[5]["ops"]!.doubleValue!)
        XCTAssertNotNil(json["budgeted"]?["images_per_s"]?.doubleValue)
        let svg = try String(contentsOf: scratch.appendingPathComponent("curve.svg"), encoding: .utf8)
        XCTAssertTrue(svg.hasPrefix("<svg") && svg.contains("polyline"))
        let bench = try withArguments(["bench", "--mode", "budgeted", "--thresholds", thresholds.path, "--data", images, "--batch", "4", "--seconds", "0.2", "--json"])
        XCTAssertEqual(bench.status, 0, bench.stderr)
        let row = try JSONValue.parse(bench.stdout)
        XCTAssertEqual(row["mode"]?.stringValue, "budgeted")
        for field in ["batch", "threads", "images_per_s", "ms_per_batch", "realized_ops_per_image"] { XCTAssertNotNil(row[field], field) }
        // Thresholds of another model are refused.
        let other = try TestData.sharedItem("reference/models/tiny-c3")
        assertFails(try withArguments(["bench", "--model", other.path, "--mode", "budgeted", "--thresholds", thresholds.path, "--seconds", "0.1"]),
                    mentioning: "thresholds given")
        assertFails(try withArguments(["calibrate", "--data", images, "--indices", subset.path, "--budget", "1M", "--output", thresholds.path]),
                    mentioning: "below the first exit's cost")
    }

    /// `--precision bf16` runs every command in bf16: evaluate adds the agreement with f32
    /// (per exit, and the exit taken at the model's own thresholds), calibrate calibrates in
    /// bf16, bench says what it ran; a precision that does not exist is refused.
    func testPrecisionBF16OnEveryCommand() throws {
        let images = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
        guard FileManager.default.fileExists(atPath: images) else { throw XCTSkip("dataset-fashion-mnist is not installed (make test installs it)") }
        let scratch = try TestData.temporaryFolder()
        let subset = scratch.appendingPathComponent("subset.npy")
        try NpyFile.write(int64: (0..<200).map { Int64($0 * 11) }, shape: [200], to: subset)
        let evaluated = try withArguments(["evaluate", "--precision", "bf16", "--data", images, "--indices", subset.path, "--json"])
        XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
        let json = try JSONValue.parse(evaluated.stdout)
        XCTAssertEqual(json["precision"]?.stringValue, "bf16")
        guard case .array(let same) = json["agreement_with_f32"]?["same_top_class_percent"],
              case .array(let differences) = json["agreement_with_f32"]?["top1_difference"] else { return XCTFail(evaluated.stdout) }
        XCTAssertEqual(same.count, 6)
        XCTAssertEqual(differences.count, 6)
        for value in same.compactMap(\.doubleValue) { XCTAssertGreaterThan(value, 95) }
        XCTAssertGreaterThan(json["agreement_with_f32"]?["same_exit_percent"]?.doubleValue ?? 0, 90)
        let text = try withArguments(["evaluate", "--precision", "bf16", "--data", images, "--indices", subset.path])
        XCTAssertTrue(text.stdout.contains("agreement with f32") && text.stdout.contains("same exit at the thresholds"), text.stdout)
        let f32 = try withArguments(["evaluate", "--data", images, "--indices", subset.path])
        XCTAssertFalse(f32.stdout.contains("agreement with f32"))

        let thresholds = scratch.appendingPathComponent("t.json")
        let calibrated = try withArguments(["calibrate", "--precision", "bf16", "--data", images, "--indices", subset.path, "--budget", "0.6x",
                                            "--output", thresholds.path])
        XCTAssertEqual(calibrated.status, 0, calibrated.stderr)
        let bench = try withArguments(["bench", "--precision", "bf16", "--mode", "budgeted", "--thresholds", thresholds.path, "--batch", "4",
                                       "--batches", "2", "--json"])
        XCTAssertEqual(bench.status, 0, bench.stderr)
        XCTAssertEqual(try JSONValue.parse(bench.stdout)["precision"]?.stringValue, "bf16")
        assertFails(try withArguments(["evaluate", "--precision", "f16", "--data", images]), mentioning: "f16", usage: true)
    }

    func testBenchAnytimeOnAPreset() throws {
        let run = try withArguments(["bench", "--preset", "cifar-c1", "--batch", "1,2", "--seconds", "0.1", "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let rows = run.stdout.split(separator: "\n").map { try? JSONValue.parse(String($0)) }
        XCTAssertEqual(rows.compactMap { $0?["batch"]?.intValue }, [1, 2])
        XCTAssertEqual(rows.first??["mode"]?.stringValue, "anytime")
        assertFails(try withArguments(["bench", "--preset", "cifar-c1", "--mode", "budgeted"]), mentioning: "needs --thresholds or --budget", usage: true)
        assertFails(try withArguments(["bench", "--preset", "cifar-c1", "--batches", "0"]), mentioning: "--batches must be positive", usage: true)
        assertFails(try withArguments(["bench", "--preset", "cifar-c1", "--lanes", "3", "--batches", "1"]), mentioning: "3 lanes are not supported")
    }

    func testBenchCountsBatchesAndUsesTheModelsOwnThresholds() throws {
        let run = try withArguments(["bench", "--mode", "budgeted", "--batch", "8", "--batches", "3", "--lanes", "4", "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let row = try JSONValue.parse(run.stdout)
        XCTAssertEqual(row["repeats"]?.intValue, 3)
        XCTAssertEqual(row["lanes"]?.intValue, 4)
        XCTAssertNotNil(row["peak_rss_mb_after_warmup"]?.doubleValue)
        XCTAssertLessThan(row["realized_ops_per_image"]!.doubleValue!, try RANetModel.bundled().operationCount.opsPerExit.last!)
    }

    /// Several calls in flight, each on its own batch and its share of the threads: early
    /// exit still realizes fewer operations than the whole network, and every request's
    /// images count.
    func testBenchRunsSeveralRequestsAtOnce() throws {
        let run = try withArguments(["bench", "--mode", "budgeted", "--batch", "1,8", "--batches", "3", "--threads", "2", "--requests", "2", "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let rows = try run.stdout.split(separator: "\n").map { try JSONValue.parse(String($0)) }
        XCTAssertEqual(rows.compactMap { $0["batch"]?.intValue }, [1, 8])
        for row in rows {
            XCTAssertEqual(row["requests"]?.intValue, 2)
            XCTAssertEqual(row["threads_used"]?.intValue, 2)
            XCTAssertEqual(row["repeats"]?.intValue, 3)
            XCTAssertLessThan(row["realized_ops_per_image"]!.doubleValue!, try RANetModel.bundled().operationCount.opsPerExit.last!)
            let rate = try XCTUnwrap(row["images_per_s"]?.doubleValue), ms = try XCTUnwrap(row["ms_per_batch"]?.doubleValue)
            XCTAssertEqual(rate, 2 * row["batch"]!.doubleValue! * 1000 / ms, accuracy: rate * 1e-9)
        }
        let text = try withArguments(["bench", "--batch", "1", "--batches", "2", "--threads", "2", "--requests", "2"])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("batch   1, 2 requests × 1 thread, 2 threads"), text.stdout)
        assertFails(try withArguments(["bench", "--requests", "0"]), mentioning: "--requests must be positive", usage: true)
        assertFails(try withArguments(["bench", "--requests", "3", "--threads", "2"]), mentioning: "--requests 3 needs at least as many --threads", usage: true)
        assertFails(try withArguments(["bench", "--train", "--requests", "2", "--threads", "2"]), mentioning: "--train runs one step at a time", usage: true)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        assertFails(try withArguments(["bench", "--requests", "\(cores + 1)", "--batches", "1"]), mentioning: "this machine has \(cores) cores", usage: true)
    }

    /// Training steps say which convolutions ran where: the bundled model's few-channel
    /// ones on the row kernels by default, none with `--convolutions onednn`.
    func testBenchTrainCountsTheConvolutionsOfEachBackend() throws {
        var counts: [Int] = []
        for choice in ["fastest", "onednn"] {
            let run = try withArguments(["bench", "--train", "--batch", "4", "--batches", "1", "--threads", "1", "--convolutions", choice, "--json"])
            XCTAssertEqual(run.status, 0, run.stderr)
            let row = try JSONValue.parse(run.stdout)
            XCTAssertEqual(row["mode"]?.stringValue, "train")
            let rows = try XCTUnwrap(row["convolutions_on_rows"]?.intValue), oneDNN = try XCTUnwrap(row["convolutions_on_onednn"]?.intValue)
            counts.append(rows)
            XCTAssertEqual(rows + oneDNN, 96)
        }
        XCTAssertEqual(counts[1], 0)
        XCTAssertGreaterThan(counts[0], 0)
    }
}
