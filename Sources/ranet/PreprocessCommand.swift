import ArgumentParser
import Foundation
import RANet

struct PreprocessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preprocess",
        abstract: "Decode images and preprocess them as torchvision does, into an N×3×H×W float32 .npy.")

    @Argument(help: "Image files (JPEG, PNG, WebP, TIFF, BMP, PBM/PGM/PPM, HEIC, AVIF).")
    var files: [String]

    @Option(help: "imagenet224 or cifar32.")
    var pipeline = "imagenet224"

    @Option(help: ArgumentHelp("The .npy file to write.", valueName: "x.npy"))
    var output: String

    @OptionGroup var decodingOptions: DecodingOptions

    func run() throws {
        let chosen = try ImagePipeline.named(pipeline)
        var values: [Float] = []
        for file in files {
            values += chosen.tensorValues(for: try chosen.decode(contentsOf: URL(fileURLWithPath: file), decodingOptions.decoding))
        }
        let size = chosen.outputSize
        try NpyFile.write(try Tensor(shape: [files.count, 3, size, size], values: values), to: URL(fileURLWithPath: output))
        print("wrote \(files.count)×3×\(size)×\(size) to \(output)")
    }
}
