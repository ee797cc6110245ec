/// How image files are decoded: PIL's results by default, and what to do differently.
///
/// By default every format decodes to the RGB that PIL's `Image.open(...).convert('RGB')`
/// gives, as the models were trained on it: the EXIF orientation ignored (torchvision's
/// loader ignores it), 16-bit samples reduced as PIL reduces them, and every JPEG decoded
/// at full size.
///
/// ```swift
/// var decoding = ImageDecoding()
/// decoding.exifOrientation = true      // phone photos stand upright
/// let classifier = FileClassifier(model: model, decoding: decoding)
/// ```
public struct ImageDecoding: Sendable, Equatable {
    /// How 16-bit samples become 8 bits.
    public enum SixteenBitSamples: String, Sendable, CaseIterable {
        /// As PIL: 16-bit grey (PIL's mode I;16) clipped at 255, so that almost every value
        /// is white; colour and grey with alpha by their high byte.
        case pil
        /// Scaled: round(v · 255 / 65535) for every kind.
        case scaled
    }

    /// Images above this many pixels are refused before their pixels are allocated
    /// (decompression bombs).
    public var maxPixels: Int
    /// How 16-bit samples become 8 bits.
    public var sixteenBit: SixteenBitSamples
    /// Whether to rotate and flip images as their EXIF orientation says (off: as stored,
    /// as torchvision's loader reads them).
    public var exifOrientation: Bool
    /// Whether a JPEG may be decoded at 1/2, 1/4 or 1/8 of its size (libjpeg-turbo's DCT
    /// scaling, as PIL's `draft()`) when the pipeline then shrinks it at least that much:
    /// much faster on large photos, slightly different tensors.
    public var fastDecode: Bool

    /// PIL's decoding, unless told otherwise.
    public init(maxPixels: Int = DecodedImage.defaultMaxPixels, sixteenBit: SixteenBitSamples = .pil,
                exifOrientation: Bool = false, fastDecode: Bool = false) {
        self.maxPixels = maxPixels
        self.sixteenBit = sixteenBit
        self.exifOrientation = exifOrientation
        self.fastDecode = fastDecode
    }
}
