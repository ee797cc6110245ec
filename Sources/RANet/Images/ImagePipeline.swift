import Foundation

/// How a photo becomes a model input, as torchvision does it on PIL images:
/// optional `convert('L')`, Resize(shorter side, bilinear, antialiased) → CenterCrop →
/// ToTensor → (zero padding) → Normalize, replicated to three channels when grey.
public struct ImagePipeline: Sendable, Equatable {
    /// Length of the shorter side after resizing.
    public var resize: Int
    /// Side of the centered square crop.
    public var crop: Int
    /// Convert to grey first (ITU-R 601 luma, as PIL's `convert('L')`).
    public var grey: Bool
    /// Zeros added on each side after cropping (before normalization).
    public var pad: Int
    /// Per-channel means subtracted after scaling to [0, 1].
    public var mean: [Float] { didSet { normalized = Self.normalization(mean: mean, std: std) } }
    /// Per-channel standard deviations divided by after that.
    public var std: [Float] { didSet { normalized = Self.normalization(mean: mean, std: std) } }
    /// Per channel, what each byte value becomes: the same expression per value as per pixel,
    /// looked up (a server preprocesses every request on its HTTP threads), built once.
    private var normalized: [[Float]]

    /// A pipeline with these steps.
    public init(resize: Int, crop: Int, grey: Bool = false, pad: Int = 0, mean: [Float], std: [Float]) {
        self.resize = resize
        self.crop = crop
        self.grey = grey
        self.pad = pad
        self.mean = mean
        self.std = std
        normalized = Self.normalization(mean: mean, std: std)
    }

    private static func normalization(mean: [Float], std: [Float]) -> [[Float]] {
        zip(mean, std).map { mean, std in (0..<256).map { (Float($0) / 255 - mean) / std } }
    }

    /// Side of the resulting square input.
    public var outputSize: Int { crop + 2 * pad }

    /// ImageNet evaluation: Resize(256), CenterCrop(224), ImageNet mean and std.
    public static let imagenet224 = ImagePipeline(resize: 256, crop: 224, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
    /// CIFAR: Resize(32), CenterCrop(32), CIFAR-10 mean and std.
    public static let cifar32 = ImagePipeline(resize: 32, crop: 32, mean: [0.4914, 0.4824, 0.4467], std: [0.2471, 0.2435, 0.2616])

    /// A preset by name: `imagenet224` or `cifar32`.
    public static func named(_ name: String) throws -> ImagePipeline {
        switch name {
        case "imagenet224": return .imagenet224
        case "cifar32": return .cifar32
        default: throw ImageError("unknown pipeline '\(name)' (known: imagenet224, cifar32)")
        }
    }

    /// The pipeline a model states in its metadata (`source_size`, `pad`, `grey_to_rgb`,
    /// mean, std), or the data kind's preset at the model's input size.
    public init(config: RANetConfig, metadata: ModelMetadata) {
        let data = Preprocessing(config: config, metadata: metadata)
        if let p = metadata.preprocessing, case .array(let source) = p["source_size"], let side = source.first?.intValue {
            self.init(resize: side, crop: side, grey: p["grey_to_rgb"] != nil, pad: data.pad, mean: data.mean, std: data.std)
        } else {
            let size = config.inputSize
            let resize = config.data == .imagenet ? Int((Double(size) * 256 / 224).rounded()) : size
            self.init(resize: resize, crop: size, mean: data.mean, std: data.std)
        }
    }

    /// Decodes an image for this pipeline: with ``ImageDecoding/fastDecode``, a JPEG may
    /// decode at a DCT scale that keeps its shorter side at least ``resize``.
    public func decode(_ data: Data, _ decoding: ImageDecoding) throws -> DecodedImage {
        try DecodedImage(encoded: data, decoding: decoding, shorterSide: resize)
    }

    /// Reads and decodes an image file for this pipeline (see ``decode(_:_:)``).
    public func decode(contentsOf url: URL, _ decoding: ImageDecoding) throws -> DecodedImage {
        try DecodedImage(contentsOf: url, decoding: decoding, shorterSide: resize)
    }

    /// The 3×S×S input for one image (S = ``outputSize``).
    public func tensorValues(for image: DecodedImage) -> [Float] {
        let channels = grey ? 1 : 3
        var pixels = image.rgb, w = image.width, h = image.height
        if grey {
            pixels = (0..<(w * h)).map { i in
                let r = Int(image.rgb[i * 3]), g = Int(image.rgb[i * 3 + 1]), b = Int(image.rgb[i * 3 + 2])
                return UInt8((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16)
            }
        }
        // torchvision's Resize(int): the shorter side becomes `resize`, the longer one is truncated.
        if min(w, h) != resize {
            let (nw, nh) = w <= h ? (resize, Int(Double(resize) * Double(h) / Double(w))) : (Int(Double(resize) * Double(w) / Double(h)), resize)
            pixels = PILResize.resize(pixels, width: w, height: h, channels: channels, toWidth: nw, toHeight: nh)
            (w, h) = (nw, nh)
        }
        // CenterCrop: offsets rounded half to even, as Python's round; zero-filled where the image is smaller.
        let top = Int((Double(h - crop) / 2).rounded(.toNearestOrEven))
        let left = Int((Double(w - crop) / 2).rounded(.toNearestOrEven))
        let size = outputSize
        var out = [Float](repeating: 0, count: 3 * size * size)
        out.withUnsafeMutableBufferPointer { out in
            pixels.withUnsafeBufferPointer { pixels in
                for c in 0..<3 {
                    let source = grey ? 0 : c
                    let normalized = self.normalized[c]
                    let background = (0 - mean[c]) / std[c]
                    let plane = c * size * size
                    for y in 0..<size {
                        let sy = y - pad + top
                        let rowInside = y >= pad && y < pad + crop && sy >= 0 && sy < h
                        for x in 0..<size {
                            let sx = x - pad + left
                            let inside = rowInside && x >= pad && x < pad + crop && sx >= 0 && sx < w
                            out[plane + y * size + x] = inside ? normalized[Int(pixels[(sy * w + sx) * channels + source])] : background
                        }
                    }
                }
            }
        }
        return out
    }
}
