import Foundation
@testable import RANet
import XCTest

/// The backward pass against central differences of the loss, on a small ImageNet-kind
/// network (7×7 stem convolution with bias, max pooling, no reference tensors for it): every
/// kind of layer's gradient, independent of the authors' fixture.
final class GradientCheckTests: XCTestCase {
    func testGradientsMatchDifferencesOfTheLoss() throws {
        let config = RANetConfig(data: .imagenet, nChannels: 4, growthRate: 4, step: 2, stepMode: .even,
                                 scaleList: [1, 2], grFactor: [2, 1], bnFactor: [2, 1], nBlocks: 1, blockStep: 1, inputSize: 64)
        let network = try NetworkDescription(config: config)
        let model = try TrainableModel(config: config, stateDict: .random(for: network, seed: 3), threads: 1)
        var seed: UInt64 = 11
        let images = (0..<(4 * model.imageFloats)).map { _ -> Float in
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int(seed >> 40) % 2001) / 1000 - 1
        }
        let targets = [3, 999, 0, 500]
        // Analytical gradients, without moving the weights (learning rate 0, no decay).
        model.optimizer = SGD(momentum: 0, weightDecay: 0)
        _ = try model.step(images: images, targets: targets, learningRate: 0)
        let gradients = model.state.gradientsByKey
        let checks = ["FirstLayer.layers.0.0.bias", "FirstLayer.layers.0.0.weight", "FirstLayer.layers.0.1.weight",
                      "FirstLayer.layers.1.net.0.weight", "scale_flows.1.0.layers.0.conv_up.net.3.weight",
                      "scale_flows.1.0.conv_last.net.1.bias", "classifier.0.linear.weight", "classifier.1.m.1.net.0.weight"]
        for key in checks {
            let g = try XCTUnwrap(gradients[key], key)
            // The element with the largest gradient: differences there stand well above rounding.
            // (The stem bias feeds batch norm, so its true gradient is 0: the absolute bound.)
            let i = g.indices.max { abs(g[$0]) < abs(g[$1]) }!
            let w = model.state.pointer(key)
            let original = w[i], h: Float = 2e-3
            w[i] = original + h
            let up = try model.loss(images: images, targets: targets)
            w[i] = original - h
            let down = try model.loss(images: images, targets: targets)
            w[i] = original
            let numerical = (up - down) / (2 * Double(h))
            XCTAssertEqual(Double(g[i]), numerical, accuracy: 0.05 * abs(numerical) + 1e-3, key)
        }
    }
}
