import Foundation
import RANet
import XCTest

// README example begin
/// Loads a model once and computes every exit's logits for a batch of images.
func everyExitLogits(imagesAt url: URL) throws -> Tensor {
    // A run folder of the authors' code, a checkpoint or a .safetensors file:
    // let model = try RANetModel.load(from: URL(fileURLWithPath: "save/run"))
    let model = try RANetModel.bundled()                   // the bundled Fashion-MNIST RANet
    let images = try NpyFile.readFloat32(contentsOf: url)  // N×3×32×32, preprocessed
    let logits = try model.logits(for: images)             // exits × N × classes
    print("exits × images × classes:", logits.shape)
    return logits
}

/// Classifies a photo with early exit: it stops at the first exit confident enough.
func classifyPhoto(at url: URL) throws -> Prediction {
    let model = try RANetModel.bundled()
    let prediction = try model.classify(imageAt: url, top: 3)   // JPEG, PNG, WebP, TIFF, HEIC…
    let name = model.metadata.classes?[prediction.label] ?? "\(prediction.label)"
    print(name, prediction.probability, "exit", prediction.exit + 1, "ops", prediction.operations)
    return prediction
}
// README example end

/// The README's example is this file's code, verbatim, and it runs.
final class ReadmeExampleTests: XCTestCase {
    private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testReadmeShowsThisExample() throws {
        let source = try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8)
        let begin = source.range(of: "// README example begin\n")!, end = source.range(of: "// README example end")!
        let example = String(source[begin.upperBound..<end.lowerBound])
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        XCTAssertTrue(readme.contains(example), "README.md must contain the example of ReadmeExampleTests.swift verbatim")
    }

    func testExampleRuns() throws {
        let logits = try everyExitLogits(imagesAt: root.appendingPathComponent("Samples/fashion-mnist-test.npy"))
        XCTAssertEqual(logits.shape, [6, 16, 10])
        XCTAssertEqual(try classifyPhoto(at: root.appendingPathComponent("Samples/images/0008-sandal.png")).label, 5)
    }
}
