import Foundation
import RANet

/// Each image's top class and softmax probability at every exit, as a table.
struct LogitsTable {
    let logits: Tensor
    let classes: [String]?

    func text() throws -> String {
        let top = try ExitConfidences(logits: logits)
        var lines = ["image  " + (0..<top.exitCount).map { "exit \($0 + 1)".padding(toLength: 22, withPad: " ", startingAt: 0) }.joined()]
        for i in 0..<top.sampleCount {
            var row = String(i).padding(toLength: 7, withPad: " ", startingAt: 0)
            for k in 0..<top.exitCount {
                let label = top.prediction[k][i]
                let name = classes.flatMap { label < $0.count ? $0[label] : nil } ?? "class \(label)"
                row += "\(name.prefix(13)) \(String(format: "%.2f", top.confidence[k][i]))".padding(toLength: 22, withPad: " ", startingAt: 0)
            }
            lines.append(row)
        }
        return lines.joined(separator: "\n")
    }
}
