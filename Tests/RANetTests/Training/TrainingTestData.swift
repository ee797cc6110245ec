import Foundation
@testable import RANet
import XCTest

/// Small training fixtures: the tiny-c3 architecture and CIFAR binary files of
/// random images written on the fly.
enum TrainingTestData {
    static func tinyConfig() throws -> RANetConfig {
        try RANetConfig.load(contentsOf: TestData.sharedItem("reference/training/tiny-c3").appendingPathComponent("args.txt"))
    }

    /// A CIFAR-10 binary batch of `labels.count` random 32×32 images.
    static func cifarFile(labels: [UInt8], in folder: URL, name: String = "data_batch_1.bin", seed: UInt64 = 1) throws -> URL {
        var state = seed
        var bytes: [UInt8] = []
        for label in labels {
            bytes.append(label)
            for _ in 0..<3072 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                bytes.append(UInt8(truncatingIfNeeded: state >> 56))
            }
        }
        let url = folder.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    static func trainingData(count: Int, in folder: URL, config: RANetConfig) throws -> TrainingData {
        let labels = (0..<count).map { UInt8($0 % 10) }
        return try TrainingData(LabeledData.open(cifarFile(labels: labels, in: folder)), config: config, metadata: ModelMetadata())
    }
}
