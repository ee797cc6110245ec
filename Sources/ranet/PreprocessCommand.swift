import ArgumentParser
import Foundation
import RANet

struct PreprocessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preprocess",
        abstract: "Decode images and preprocess them as torchvision does, into an N×3×H×W float32 .npy.")

    @Argument(help: "JPEG or PNG files.")
    var files: [String]

    @Option(help: "imagenet224 or cifar32.")
    var pipeline = "imagenet224"

    @Option(help: ArgumentHelp("The .npy file to write.", valueName: "x.npy"))
    var output: String

    @Option(help: "Refuse images with more pixels than this (decompression bombs).")
    var maxPixels = DecodedImage.defaultMaxPixels

    func run() throws {
        let chosen = try ImagePipeline.named(pipeline)
        var values: [Float] = []
        for file in files {
            values += chosen.tensorValues(for: try DecodedImage(contentsOf: URL(fileURLWithPath: file), maxPixels: maxPixels))
        }
        let size = chosen.outputSize
        try NpyFile.write(try Tensor(shape: [files.count, 3, size, size], values: values), to: URL(fileURLWithPath: output))
        print("wrote \(files.count)×3×\(size)×\(size) to \(output)")
    }
}
