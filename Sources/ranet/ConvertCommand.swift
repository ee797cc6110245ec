import ArgumentParser
import Foundation
import RANet

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Write a model as one native .safetensors file (weights, config, class names, preprocessing), or as ONNX.",
        discussion: """
            By the output's extension: .safetensors, the native file; .onnx, an ONNX graph (opset 13, dynamic \
            batch) with every exit as an output (exit_1 … exit_K), for ONNX Runtime, OpenVINO and other runtimes.
            """)

    @OptionGroup var source: ModelOptions

    @Option(help: "A paper configuration with random weights instead of a model (to measure runtimes on it).")
    var preset: String?

    @Option(help: ArgumentHelp("The .safetensors or .onnx file to write.", valueName: "model.safetensors"))
    var output: String

    @Option(help: ArgumentHelp(
        "Weights in a .safetensors file: f32, or bf16 (convolution and classifier weights rounded to bf16 and stored as BF16, about half the file). ONNX stays f32.",
        valueName: "f32|bf16"))
    var precision: Precision = .f32

    @Option(help: ArgumentHelp("Thresholds (from `ranet calibrate`) to store as the model's default for early exit.", valueName: "file.json"))
    var thresholds: String?

    func validate() throws {
        if !(output.hasSuffix(".safetensors") || output.hasSuffix(".onnx")) {
            throw ValidationError("--output must end in .safetensors or .onnx")
        }
        if preset != nil && source.model != nil { throw ValidationError("give either --preset or --model") }
        if precision == .bf16 && output.hasSuffix(".onnx") {
            throw ValidationError("--precision bf16 writes .safetensors only: the ONNX graph stays f32, and runtimes choose their own precision")
        }
    }

    func run() throws {
        var contents: ModelFile.Contents
        if let preset {
            let config = try RANetConfig.preset(named: preset)
            contents = ModelFile.Contents(config: config, stateDict: .random(for: try NetworkDescription(config: config)))
        } else {
            contents = try source.read()
        }
        if output.hasSuffix(".onnx") {
            try OnnxExport.write(contents, to: URL(fileURLWithPath: output))
            print("wrote \(output): ONNX opset \(OnnxExport.opset), inputs N×3×\(contents.config.inputSize)×\(contents.config.inputSize), \(contents.config.exitCount) exits")
            return
        }
        try contents.stateDict.validate(for: try NetworkDescription(config: contents.config))
        if let thresholds {
            let t = try ExitThresholds.read(contentsOf: URL(fileURLWithPath: thresholds))
            guard t.values.count == contents.config.exitCount else {
                throw ThresholdError("\(thresholds) has \(t.values.count) thresholds for a model with \(contents.config.exitCount) exits")
            }
            let fingerprint = contents.stateDict.fingerprint(config: contents.config)
            if let theirs = t.modelFingerprint, theirs != fingerprint {
                throw ThresholdError("\(thresholds) was calibrated for another model (fingerprint \(theirs), this model is \(fingerprint))")
            }
            contents.metadata.defaultThresholds = t
        }
        if precision == .bf16 {
            contents.stateDict = contents.stateDict.roundingWeightsToBF16()
            // The rounded weights are the same model: its thresholds follow it, calibrated on f32
            // confidences (`calibrate --precision bf16` calibrates on bf16 ones).
            if contents.metadata.defaultThresholds?.modelFingerprint != nil {
                contents.metadata.defaultThresholds?.modelFingerprint = contents.stateDict.fingerprint(config: contents.config)
            }
        }
        try ModelFile.write(contents, weights: precision, to: URL(fileURLWithPath: output))
        let count = OperationCount(try NetworkDescription(config: contents.config))
        print("wrote \(output): \(contents.config.exitCount) exits, \(count.paramsTotal) parameters" + (precision == .bf16 ? ", weights in bf16" : ""))
    }
}
