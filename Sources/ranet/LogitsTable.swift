import Foundation
import RANet

/// Each image's top class and softmax probability at every exit, as a table.
struct LogitsTable {
    let logits: Tensor
    let classes: [String]?

    var text: String {
        let (exits, batch, count) = (logits.shape[0], logits.shape[1], logits.shape[2])
        var lines = ["image  " + (0..<exits).map { "exit \($0)".padding(toLength: 22, withPad: " ", startingAt: 0) }.joined()]
        for i in 0..<batch {
            var row = String(i).padding(toLength: 7, withPad: " ", startingAt: 0)
            for k in 0..<exits {
                let start = (k * batch + i) * count
                let z = logits.values[start..<(start + count)]
                let top = z.indices.max { z[$0] < z[$1] }!
                let sum = z.reduce(0.0) { $0 + exp(Double($1 - z[top])) }
                let name = classes.flatMap { top - start < $0.count ? $0[top - start] : nil } ?? "class \(top - start)"
                row += "\(name.prefix(13)) \(String(format: "%.2f", 1 / sum))".padding(toLength: 22, withPad: " ", startingAt: 0)
            }
            lines.append(row)
        }
        return lines.joined(separator: "\n")
    }
}
