import CImageCodecs
import Foundation

/// An image decoded to 8-bit RGB, as PIL's `convert('RGB')` gives it.
public struct DecodedImage: Sendable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// Interleaved R, G, B bytes, row by row.
    public let rgb: [UInt8]

    /// Images above this many pixels are refused before decoding (decompression bombs).
    public static let defaultMaxPixels = 100_000_000

    /// An image from interleaved RGB bytes (`width` × `height` × 3 of them).
    public init(width: Int, height: Int, rgb: [UInt8]) {
        self.width = width
        self.height = height
        self.rgb = rgb
    }

    /// Decodes JPEG or PNG data, recognized by content.
    public init(encoded data: Data, maxPixels: Int = defaultMaxPixels) throws {
        var image = cimg_image()
        var message = [CChar](repeating: 0, count: 256)
        let status = data.withUnsafeBytes { bytes in
            cimg_decode(bytes.bindMemory(to: UInt8.self).baseAddress, bytes.count, Int64(maxPixels), &image, &message, message.count)
        }
        guard status == 0 else {
            throw ImageError(String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        defer { cimg_free(&image) }
        width = Int(image.width)
        height = Int(image.height)
        rgb = Array(UnsafeBufferPointer(start: image.rgb, count: width * height * 3))
    }

    /// Reads and decodes an image file.
    public init(contentsOf url: URL, maxPixels: Int = defaultMaxPixels) throws {
        let data = try readFile(url, what: "image")
        do {
            try self.init(encoded: data, maxPixels: maxPixels)
        } catch let error as ImageError {
            throw FileError(path: url.path, message: error.message)
        }
    }

    /// Whether data starts like a JPEG or PNG file.
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
