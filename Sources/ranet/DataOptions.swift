import ArgumentParser
import Foundation
import RANet

/// A labeled data set on the command line.
struct DataOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Labeled images: a folder with one sub-folder of image files per class, an IDX images file (.gz or not; MNIST, Fashion-MNIST), or a CIFAR binary batch (*.bin).", valueName: "path"))
    var data: String

    @Option(help: ArgumentHelp("The IDX labels file, when it is not found beside --data by its standard name.", valueName: "file"))
    var labels: String?

    @Option(help: ArgumentHelp("An int64 .npy of record numbers to use (e.g. a validation split).", valueName: "file"))
    var indices: String?

    @Option(help: "Images per batch.")
    var batch = 64

    @OptionGroup var decodingOptions: DecodingOptions

    func validate() throws {
        if batch < 1 { throw ValidationError("--batch must be at least 1") }
    }

    func open() throws -> LabeledData {
        try LabeledData.open(URL(fileURLWithPath: data), labels: labels.map { URL(fileURLWithPath: $0) },
                             indices: indices.map { URL(fileURLWithPath: $0) }, decoding: decodingOptions.decoding)
    }
}
