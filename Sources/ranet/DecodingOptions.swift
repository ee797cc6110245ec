import ArgumentParser
import RANet

/// How image files are decoded, on the command line (``ImageDecoding``).
struct DecodingOptions: ParsableArguments {
    @Option(help: "Refuse images with more pixels than this (decompression bombs).")
    var maxPixels = DecodedImage.defaultMaxPixels

    @Flag(help: "Rotate and flip images as their EXIF orientation says (default: as stored, as torchvision reads them).")
    var exifOrientation = false

    @Flag(help: "Decode large JPEGs at 1/2, 1/4 or 1/8 of their size when the model's pipeline shrinks them that much anyway (faster; slightly different tensors).")
    var fastDecode = false

    @Option(name: .customLong("16-bit"), help: "16-bit samples: pil (as PIL: grey clipped at 255, colour by its high byte) or scaled (v·255/65535).")
    var sixteenBit: ImageDecoding.SixteenBitSamples = .pil

    func validate() throws {
        if maxPixels < 1 { throw ValidationError("--max-pixels must be at least 1") }
    }

    var decoding: ImageDecoding {
        ImageDecoding(maxPixels: maxPixels, sixteenBit: sixteenBit, exifOrientation: exifOrientation, fastDecode: fastDecode)
    }
}

extension ImageDecoding.SixteenBitSamples: ExpressibleByArgument {}
