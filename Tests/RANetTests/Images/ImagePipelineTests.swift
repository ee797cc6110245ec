import Foundation
import RANet
import XCTest

/// Decoding and preprocessing against what PIL and torchvision made of the reference photos.
final class ImagePipelineTests: XCTestCase {
    private struct Entry {
        let name: String
        let expect: String
        let index: Int?
    }

    private func manifest() throws -> (URL, [Entry]) {
        let folder = try TestData.sharedItem("reference/images")
        let json = try JSONValue.parse(Data(contentsOf: folder.appendingPathComponent("manifest.json")))
        guard case .object(let files) = json["files"] else { throw ImageError("malformed manifest") }
        let entries = files.map { name, v in
            Entry(name: name, expect: v["expect"]?.stringValue ?? "", index: v["compare"] == .bool(true) ? v["index"]?.intValue : nil)
        }
        return (folder, entries.sorted { $0.name < $1.name })
    }

    func testEveryReferenceFileIsHandledAsTheManifestSays() throws {
        let (folder, entries) = try manifest()
        for entry in entries {
            let url = folder.appendingPathComponent(entry.name)
            if entry.expect == "ok" {
                XCTAssertNoThrow(try DecodedImage(contentsOf: url), entry.name)
            } else {
                XCTAssertThrowsError(try DecodedImage(contentsOf: url), entry.name)
            }
        }
    }

    func testPreprocessingMatchesTorchvision() throws {
        let (folder, entries) = try manifest()
        for (pipeline, file) in [(ImagePipeline.imagenet224, "expected_imagenet224.npy"), (ImagePipeline.cifar32, "expected_cifar32.npy")] {
            let expected = try NpyFile.readFloat32(contentsOf: folder.appendingPathComponent(file))
            let per = 3 * pipeline.outputSize * pipeline.outputSize
            for entry in entries {
                guard let index = entry.index else { continue }
                let ours = pipeline.tensorValues(for: try DecodedImage(contentsOf: folder.appendingPathComponent(entry.name)))
                let theirs = expected.values[(index * per)..<((index + 1) * per)]
                let diffs = zip(ours, theirs).map { abs($0 - $1) }
                let mean = diffs.reduce(0, +) / Float(diffs.count), worst = diffs.max()!
                XCTAssertLessThanOrEqual(mean, 0.01, "\(file) \(entry.name): mean |diff| \(mean)")
                XCTAssertLessThanOrEqual(worst, 0.1, "\(file) \(entry.name): max |diff| \(worst)")
            }
        }
    }

    func testDecompressionBombsAreRefusedBeforeDecoding() throws {
        let (folder, _) = try manifest()
        XCTAssertThrowsMessage(try DecodedImage(contentsOf: folder.appendingPathComponent("retina.jpg"), maxPixels: 1_000_000),
                               contains: "1411x1411", "exceeds the limit")
    }

    func testBrokenFilesSayWhy() throws {
        let (folder, _) = try manifest()
        XCTAssertThrowsMessage(try DecodedImage(contentsOf: folder.appendingPathComponent("empty.png")), contains: "empty")
        XCTAssertThrowsMessage(try DecodedImage(contentsOf: folder.appendingPathComponent("not_an_image.jpg")), contains: "not an image (JPEG, PNG")
        XCTAssertThrowsMessage(try DecodedImage(contentsOf: folder.appendingPathComponent("truncated.jpg")), contains: "truncated.jpg", "JPEG")
        XCTAssertThrowsMessage(try DecodedImage(contentsOf: folder.appendingPathComponent("nothing-here.png")), contains: "no such")
    }
}
