import ArgumentParser
import Foundation
import RANet

struct LogitsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logits",
        abstract: "Compute every exit's logits for a batch of images.",
        discussion: "The input is an N×3×H×W float32 .npy, already preprocessed. With --output the logits (exits×N×classes float32) are written there; without it a table shows each exit's top class per image.")

    @OptionGroup var source: ModelOptions
    @OptionGroup var engine: EngineOptions

    @Option(help: ArgumentHelp("Images: N×3×H×W float32 .npy.", valueName: "x.npy"))
    var input: String

    @Option(help: ArgumentHelp("Where to write the logits (exits×N×classes float32 .npy).", valueName: "y.npy"))
    var output: String?

    @Option(help: "Threads to use (default: all cores).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let images = try NpyFile.readFloat32(contentsOf: URL(fileURLWithPath: input))
        let model = try source.load(options: engine.options(threads: threads))
        let logits = try model.logits(for: images)
        if let output {
            try NpyFile.write(logits, to: URL(fileURLWithPath: output))
            print("wrote \(logits.shape.map(String.init).joined(separator: "×")) logits to \(output)")
        } else {
            print(try LogitsTable(logits: logits, classes: model.metadata.classes).text())
        }
    }
}
