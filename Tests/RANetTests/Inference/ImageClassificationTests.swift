import Foundation
import RANet
import XCTest

final class ImageClassificationTests: XCTestCase {
    private var sample: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Samples/images/0002-trouser.png")
    }

    func testFileAndBytesAgree() throws {
        let model = try RANetModel.bundled()
        let fromFile = try model.classify(imageAt: sample, top: 2)
        XCTAssertEqual(model.metadata.classes?[fromFile.label], "Trouser")
        XCTAssertEqual(fromFile.top.count, 2)
        XCTAssertEqual(try model.classify(encoded: Data(contentsOf: sample), top: 2), fromFile)
    }

    /// In async code the async overloads are chosen; they give the same results.
    func testAsyncVariants() async throws {
        let model = try RANetModel.bundled()
        let viaAsync = try await model.classify(imageAt: sample, top: 2)
        XCTAssertEqual(model.metadata.classes?[viaAsync.label], "Trouser")
        let batch = try await model.classify([try DecodedImage(contentsOf: sample)], top: 2)
        XCTAssertEqual(batch, [viaAsync])
    }

    /// A PNG sample gives what its preprocessed tensor gives.
    func testPNGSamplesMatchTheirTensors() throws {
        let model = try RANetModel.bundled()
        let tensor = try NpyFile.readFloat32(contentsOf: sample.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("fashion-mnist-test.npy"))
        let fromTensor = try model.classify(tensor, thresholds: model.defaultThresholds)
        let files = ImageFinder.files(under: [sample.deletingLastPathComponent()], recursive: false).files
        let fromFiles = try model.classify(files.map { try DecodedImage(contentsOf: $0) })
        // The tensors were normalized in double precision, the pipeline works in float.
        XCTAssertEqual(fromFiles.map(\.label), fromTensor.map(\.label))
        XCTAssertEqual(fromFiles.map(\.exit), fromTensor.map(\.exit))
        for (a, b) in zip(fromFiles, fromTensor) { XCTAssertEqual(a.probability, b.probability, accuracy: 1e-5) }
    }

    func testDefaultThresholdsLetEasyImagesLeaveEarly() throws {
        let model = try RANetModel.bundled()
        XCTAssertNotNil(model.metadata.defaultThresholds)
        XCTAssertEqual(model.defaultThresholds.modelFingerprint, model.fingerprint)
        let prediction = try model.classify(imageAt: sample)
        XCTAssertLessThan(prediction.exit, model.exitCount - 1)
    }
}
