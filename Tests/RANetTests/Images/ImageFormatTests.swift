import Foundation
import RANet
import XCTest

/// Every format against what PIL decodes from the same file (Fixtures/formats, made by
/// scripts/make_format_fixtures.py), HEIC and AVIF against what heif-convert writes.
final class ImageFormatTests: XCTestCase {
    private var folder: URL { TestData.fixtures.appendingPathComponent("formats") }

    private func manifest() throws -> [String: JSONValue] {
        let json = try JSONValue.parse(Data(contentsOf: folder.appendingPathComponent("formats.json")))
        guard case .object(let files) = json["files"] else { throw ImageError("malformed formats.json") }
        return files
    }

    /// FNV-1a, 64 bits, of the RGB bytes (as the fixture script computes it).
    static func fnv1a64(_ bytes: [UInt8]) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    private func check(_ image: DecodedImage, _ expected: JSONValue?, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let expected else { return XCTFail("\(what): nothing expected", file: file, line: line) }
        XCTAssertEqual(image.width, expected["width"]?.intValue, "\(what): width", file: file, line: line)
        XCTAssertEqual(image.height, expected["height"]?.intValue, "\(what): height", file: file, line: line)
        XCTAssertEqual(Self.fnv1a64(image.rgb), expected["fnv1a64"]?.stringValue, "\(what): RGB differs", file: file, line: line)
    }

    func testEveryFormatDecodesAsPILDoes() throws {
        let files = try manifest()
        XCTAssertGreaterThan(files.count, 35)
        for (name, expected) in files.sorted(by: { $0.key < $1.key }) where expected["parity"]?.stringValue == "PIL" {
            let url = folder.appendingPathComponent(name)
            check(try DecodedImage(contentsOf: url), expected, name)
            if let scaled = expected["scaled"] {
                check(try DecodedImage(contentsOf: url, decoding: ImageDecoding(sixteenBit: .scaled)), scaled, "\(name), scaled")
            }
        }
    }

    func testHEICAndAVIFDecodeAsHeifConvertDoes() throws {
        for (name, expected) in try manifest() where expected["parity"]?.stringValue == "heif-convert" {
            let image = try DecodedImage(contentsOf: folder.appendingPathComponent(name))
            check(image, expected, name)
            XCTAssertEqual(image.format, "HEIF")
        }
    }

    /// EXIF orientation is ignored by default (torchvision) and applied on request.
    func testExifOrientation() throws {
        let expected = try manifest()["rotated.jpg"]
        let url = folder.appendingPathComponent("rotated.jpg")
        check(try DecodedImage(contentsOf: url), expected, "rotated.jpg as stored")
        let upright = try DecodedImage(contentsOf: url, decoding: ImageDecoding(exifOrientation: true))
        check(upright, expected?["exif_orientation"], "rotated.jpg upright")
        XCTAssertEqual(upright.width, 41)
    }

    /// Fast decoding picks the DCT scale PIL's draft() picks and decodes what it decodes.
    func testFastDecodeMatchesPILsDraft() throws {
        let expected = try manifest()["large.jpg"]
        let url = folder.appendingPathComponent("large.jpg")
        let full = try DecodedImage(contentsOf: url, decoding: ImageDecoding(), shorterSide: 150)
        XCTAssertEqual(full.scaleDenominator, 1, "fast decoding is opt-in")
        check(full, expected, "large.jpg")
        let fast = try DecodedImage(contentsOf: url, decoding: ImageDecoding(fastDecode: true), shorterSide: 150)
        XCTAssertEqual(fast.scaleDenominator, 4)
        check(fast, expected?["draft_4"], "large.jpg at 1/4")
        // A target above half the shorter side keeps the full size.
        XCTAssertEqual(try DecodedImage(contentsOf: url, decoding: ImageDecoding(fastDecode: true), shorterSide: 301).scaleDenominator, 1)
    }

    /// Every fixture is recognized by its content, whatever its name.
    func testEveryFormatIsSniffed() throws {
        for name in try manifest().keys {
            let data = try Data(contentsOf: folder.appendingPathComponent(name))
            XCTAssertTrue(DecodedImage.isImage(data.prefix(16)), name)
        }
    }

    /// Broken files of each format get one line naming the problem, never a crash.
    func testBrokenFilesOfEveryFormat() throws {
        for name in ["lossy.webp", "rgb-lzw.tif", "rgb-tiles.tif", "rgb24.bmp", "rle8.bmp", "rgb.ppm", "plain.ppm", "photo.heic", "photo.avif"] {
            let data = try Data(contentsOf: folder.appendingPathComponent(name))
            for cut in [16, data.count / 2, data.count - 7] {
                XCTAssertThrowsError(try DecodedImage(encoded: data.prefix(cut)), "\(name) cut at \(cut)") { error in
                    XCTAssertFalse("\(error)".isEmpty)
                    XCTAssertFalse("\(error)".contains("\n"), "\(error)")
                }
            }
        }
        XCTAssertThrowsMessage(try DecodedImage(encoded: Data("P6\n70000 70000\n255\n".utf8), maxPixels: 1_000_000), contains: "exceeds the limit")
        XCTAssertThrowsMessage(try DecodedImage(encoded: Data("P5\n2 2\n0\n".utf8) + Data(count: 4)), contains: "maxval")
        var bmp = try [UInt8](Data(contentsOf: folder.appendingPathComponent("rgb24.bmp")))
        bmp[28] = 7  // bits per pixel
        XCTAssertThrowsMessage(try DecodedImage(encoded: Data(bmp)), contains: "BMP", "7 bits")
    }
}
