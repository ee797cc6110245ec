import Foundation

/// The authors' training loss: the sum over exits of each exit's cross-entropy,
/// averaged over the batch (`nn.CrossEntropyLoss` per exit).
enum ExitLoss {
    /// Each exit's loss on the graph's last forward pass, with the gradient of their sum
    /// written into the graph's logits gradient. `targets` are class indices.
    static func evaluate(_ graph: TrainingGraph, targets: [Int]) -> [Double] {
        let exits = graph.network.exitCount, classes = graph.network.config.numClasses
        var losses = [Double](repeating: 0, count: exits)
        let scale = 1 / Double(graph.batch)
        var probabilities = [Double](repeating: 0, count: classes)
        for n in 0..<graph.batch {
            let logits = graph.logits(image: n), gradient = graph.logitsGradient(image: n)
            for k in 0..<exits {
                let z = logits + k * classes, g = gradient + k * classes
                var largest = -Double.infinity
                for c in 0..<classes { largest = max(largest, Double(z[c])) }
                var sum = 0.0
                for c in 0..<classes {
                    probabilities[c] = Foundation.exp(Double(z[c]) - largest)
                    sum += probabilities[c]
                }
                losses[k] += (Foundation.log(sum) + largest - Double(z[targets[n]])) * scale
                for c in 0..<classes {
                    g[c] = Float((probabilities[c] / sum - (c == targets[n] ? 1 : 0)) * scale)
                }
            }
        }
        return losses
    }
}
