import CImageCodecs
import Foundation

/// An image decoded to 8-bit RGB, as PIL's `convert('RGB')` gives it.
///
/// JPEG, PNG, WebP, TIFF, BMP and PBM/PGM/PPM (the formats torchvision's `ImageFolder`
/// reads), and HEIC and AVIF through libheif, recognized by content.
public struct DecodedImage: Sendable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// Interleaved R, G, B bytes, row by row.
    public let rgb: [UInt8]
    /// The format decoded, such as `JPEG` or `WebP` (`RGB` for an image made from bytes).
    public let format: String
    /// The DCT scale a JPEG was decoded at: 1, or 2, 4 or 8 with ``ImageDecoding/fastDecode``.
    public let scaleDenominator: Int

    /// Images above this many pixels are refused before decoding (decompression bombs).
    public static let defaultMaxPixels = 100_000_000

    /// An image from interleaved RGB bytes (`width` × `height` × 3 of them).
    public init(width: Int, height: Int, rgb: [UInt8]) {
        self.width = width
        self.height = height
        self.rgb = rgb
        format = "RGB"
        scaleDenominator = 1
    }

    /// Decodes image data of any supported format, recognized by content.
    ///
    /// - Parameters:
    ///   - data: the encoded file.
    ///   - decoding: how (PIL's results by default).
    ///   - shorterSide: with ``ImageDecoding/fastDecode``, the shorter side the image will be
    ///     resized to: a JPEG decodes at the smallest DCT scale that keeps it at least that.
    public init(encoded data: Data, decoding: ImageDecoding = ImageDecoding(), shorterSide: Int = 0) throws {
        var image = cimg_image()
        var message = [CChar](repeating: 0, count: 256)
        var options = cimg_options(max_pixels: Int64(decoding.maxPixels), scale_16bit: decoding.sixteenBit == .scaled ? 1 : 0,
                                   min_shorter_side: Int32(decoding.fastDecode ? max(0, shorterSide) : 0))
        let status = data.withUnsafeBytes { bytes in
            cimg_decode(bytes.bindMemory(to: UInt8.self).baseAddress, bytes.count, &options, &image, &message, message.count)
        }
        guard status == 0 else {
            throw ImageError(String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        defer { cimg_free(&image) }
        if decoding.exifOrientation, cimg_apply_orientation(&image) != 0 {
            throw ImageError("out of memory rotating a \(image.width)x\(image.height) image")
        }
        width = Int(image.width)
        height = Int(image.height)
        rgb = Array(UnsafeBufferPointer(start: image.rgb, count: width * height * 3))
        format = String(cString: cimg_format_name(image.format))
        scaleDenominator = Int(image.scale_denominator)
    }

    /// Decodes image data refusing images of more than `maxPixels` pixels.
    public init(encoded data: Data, maxPixels: Int) throws {
        try self.init(encoded: data, decoding: ImageDecoding(maxPixels: maxPixels))
    }

    /// Reads and decodes an image file (see ``init(encoded:decoding:shorterSide:)``).
    public init(contentsOf url: URL, decoding: ImageDecoding = ImageDecoding(), shorterSide: Int = 0) throws {
        let data = try readFile(url, what: "image")
        do {
            try self.init(encoded: data, decoding: decoding, shorterSide: shorterSide)
        } catch let error as ImageError {
            throw FileError(path: url.path, message: error.message)
        }
    }

    /// Reads and decodes an image file refusing images of more than `maxPixels` pixels.
    public init(contentsOf url: URL, maxPixels: Int) throws {
        try self.init(contentsOf: url, decoding: ImageDecoding(maxPixels: maxPixels))
    }

    /// A smaller copy whose longer side is at most `longerSide` (PIL's antialiased
    /// resize), or the image itself when it is that small already.
    public func thumbnail(longerSide: Int) -> DecodedImage {
        let side = max(1, longerSide)
        guard max(width, height) > side else { return self }
        let (w, h) = width >= height ? (side, max(1, height * side / width)) : (max(1, width * side / height), side)
        return DecodedImage(width: w, height: h, rgb: PILResize.resize(rgb, width: width, height: height, channels: 3, toWidth: w, toHeight: h))
    }

    /// The image as a PNG file.
    public func pngData() throws -> Data {
        var bytes: UnsafeMutablePointer<UInt8>?
        var size = 0
        let status = rgb.withUnsafeBufferPointer { cimg_encode_png($0.baseAddress, Int32(width), Int32(height), &bytes, &size) }
        guard status == 0, let bytes else { throw ImageError("cannot encode a \(width)x\(height) image as PNG") }
        defer { free(bytes) }
        return Data(bytes: bytes, count: size)
    }

    /// Whether data starts like an image of a supported format (16 bytes are enough).
    public static func isImage(_ prefix: Data) -> Bool {
        prefix.withUnsafeBytes { cimg_sniff($0.bindMemory(to: UInt8.self).baseAddress, $0.count) != CIMG_UNKNOWN }
    }
}

/// An image that cannot be decoded.
public struct ImageError: Error, CustomStringConvertible {
    /// What is wrong with the image, in one line.
    public let message: String
    /// An error with this message.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}
