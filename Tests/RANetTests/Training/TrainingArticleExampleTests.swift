import Foundation
import RANet
import XCTest

// Training article example begin
/// Trains the Fashion-MNIST model of the authors' recipe into `runs/fmnist` and loads it.
func trainFashionMNIST(recipe: URL) async throws -> RANetModel {
    let config = try RANetConfig.load(contentsOf: recipe.appendingPathComponent("args.txt"))
    let metadata = ModelMetadata(preprocessingJSON: try JSONValue.parse(
        Data(contentsOf: recipe.appendingPathComponent("preprocessing.json"))))
    let images = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")
    let data = try TrainingData(LabeledData.open(images), config: config, metadata: metadata)
    let run = URL(fileURLWithPath: "runs/fmnist")
    let trainer = try Trainer(config: config, training: data, options: TrainingOptions(epochs: 12),
                              runFolder: run, metadata: metadata)
    for try await progress in trainer.progressReports() where progress.isEpochEnd {
        print("epoch", progress.epoch + 1, "loss", progress.loss, "\(Int(progress.imagesPerSecond)) images/s")
    }
    return try RANetModel.load(from: run)
}
// Training article example end

/// The Training article's example is this file's code, verbatim (it compiles here; the
/// 12 epochs themselves are the README's measured run, not a test).
final class TrainingArticleExampleTests: XCTestCase {
    func testArticleShowsThisExample() throws {
        let here = URL(fileURLWithPath: #filePath)
        let source = try String(contentsOf: here, encoding: .utf8)
        let begin = source.range(of: "// Training article example begin\n")!, end = source.range(of: "// Training article example end")!
        let example = String(source[begin.upperBound..<end.lowerBound])
        let root = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let article = try String(contentsOf: root.appendingPathComponent("Sources/RANet/RANet.docc/TrainingModels.md"), encoding: .utf8)
        XCTAssertTrue(article.contains(example), "TrainingModels.md must contain the example of TrainingArticleExampleTests.swift verbatim")
    }
}
