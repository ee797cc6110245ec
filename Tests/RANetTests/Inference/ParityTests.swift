import Foundation
@testable import RANet
import XCTest

/// Every exit's logits against what the authors' code computed, for every reference model:
/// max |ours − theirs| ≤ 1e-4 × max(1, max |theirs|), and the same argmax.
final class ParityTests: XCTestCase {
    static func assertParity(_ ours: Tensor, _ theirs: Tensor, _ name: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(ours.shape, theirs.shape, name, file: file, line: line)
        guard ours.shape == theirs.shape else { return }
        let scale = max(1, theirs.values.map(abs).max() ?? 0)
        let worst = zip(ours.values, theirs.values).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, 1e-4 * scale, "\(name): max difference \(worst) at scale \(scale)", file: file, line: line)
        let classes = theirs.shape.last!
        for row in 0..<(theirs.values.count / classes) {
            let a = ours.values[(row * classes)..<((row + 1) * classes)], b = theirs.values[(row * classes)..<((row + 1) * classes)]
            XCTAssertEqual(a.firstIndex(of: a.max()!)! - row * classes, b.firstIndex(of: b.max()!)! - row * classes,
                           "\(name): argmax of row \(row)", file: file, line: line)
        }
    }

    /// Each image alone, through each kind of single-image kernels, with one and two threads.
    func testEveryReferenceModel() throws {
        let models = try TestData.referenceModels()
        XCTAssertFalse(models.isEmpty)
        for reference in models {
            let (name, folder, input, expected) = (reference.name, reference.folder, reference.input, reference.expected)
            for (kernels, threads) in [(RANetModel.SingleImageKernels.oneDNN, 1), (.oneDNN, 2), (.rows, 1), (.rows, 2), (.fastest, 2)] {
                let options = RANetModel.Options(threads: threads, lanes: 1, singleImages: kernels, planCache: nil)
                let model = try RANetModel.load(from: folder, options: options)
                Self.assertParity(try model.logits(for: input), expected, "\(name), \(kernels), \(threads) threads")
            }
        }
    }

    /// The lane kernels at every width this CPU runs, on a full group and a partly
    /// filled one (the reference images repeated to fill one and a half groups), on a
    /// single group that two threads run together, layer by layer, and on a group
    /// followed by two single images.
    func testEveryReferenceModelThroughTheLaneKernels() throws {
        for reference in try TestData.referenceModels() {
            let (name, folder, input, expected) = (reference.name, reference.folder, reference.input, reference.expected)
            for lanes in [4, 8, 16] where RANetModel.supportsLanes(lanes) {
                // The row kernels for images alone: `.fastest` would measure, and in a debug build
                // (unoptimized C kernels) it finds images alone faster than lane groups.
                let model = try RANetModel.load(from: folder, options: RANetModel.Options(threads: 2, lanes: lanes, singleImages: .rows))
                for batch in [lanes + lanes / 2, lanes, lanes + 2] {
                    XCTAssertEqual(model.imageGroups(batch: batch).first?.backend, .laneGroup, "\(name), \(lanes) lanes, batch \(batch)")
                    let (images, logits) = try Self.repeated(input, expected, to: batch)
                    Self.assertParity(try model.logits(for: images), logits, "\(name), \(lanes) lanes, batch \(batch)")
                }
            }
        }
    }

    /// The reference images and their logits, repeated in turn to make `batch` of them.
    /// One image's logits, exits × classes, out of a batch's exits × N × classes.
    static func row(_ logits: Tensor, image: Int) -> [Float] {
        let (exits, batch, classes) = (logits.shape[0], logits.shape[1], logits.shape[2])
        var values: [Float] = []
        for k in 0..<exits {
            let start = (k * batch + image) * classes
            values += logits.values[start..<(start + classes)]
        }
        return values
    }

    static func repeated(_ input: Tensor, _ expected: Tensor, to batch: Int) throws -> (Tensor, Tensor) {
        let (n, exits, classes) = (input.shape[0], expected.shape[0], expected.shape[2])
        let imageFloats = input.values.count / n
        var images: [Float] = [], logits: [Float] = []
        for i in 0..<batch {
            images += input.values[(i % n) * imageFloats..<(i % n + 1) * imageFloats]
        }
        for k in 0..<exits {
            for i in 0..<batch {
                let row = k * n + i % n
                logits += expected.values[row * classes..<(row + 1) * classes]
            }
        }
        return (try Tensor(shape: [batch] + input.shape.dropFirst(), values: images),
                try Tensor(shape: [exits, batch, classes], values: logits))
    }
}
