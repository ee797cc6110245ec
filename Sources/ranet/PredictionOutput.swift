import Foundation
import RANet

enum ResultFormat { case table, csv, jsonl }

/// Formats one row per file.
struct ResultWriter {
    let format: ResultFormat
    let classes: [String]?
    let top: Int
    let numClasses: Int

    private func name(_ label: Int) -> String {
        classes.flatMap { label < $0.count ? $0[label] : nil } ?? String(label)
    }

    var header: String? {
        switch format {
        case .csv:
            let ranks = (1...top).flatMap { ["class_\($0)", "probability_\($0)"] }
            return (["path"] + ranks + ["exit", "operations", "error"]).joined(separator: ",")
        case .table, .jsonl:
            return nil
        }
    }

    func row(_ r: FileClassifier.Result) -> String {
        switch format {
        case .csv:
            var fields = [csv(r.url.relativePath)]
            for i in 0..<top {
                if let p = r.prediction, i < p.top.count {
                    fields += [csv(name(p.top[i].label)), String(format: "%.6f", p.top[i].probability)]
                } else {
                    fields += ["", ""]
                }
            }
            fields += [r.prediction.map { String($0.exit) } ?? "", r.prediction.map { String(Int($0.operations)) } ?? "", csv(r.skipReason ?? "")]
            return fields.joined(separator: ",")
        case .jsonl:
            var object: [String: JSONValue] = ["path": .string(r.url.relativePath)]
            if let p = r.prediction {
                object["top"] = .array(p.top.map { .object(["label": .number(Double($0.label)), "class": .string(name($0.label)), "probability": .number(Double($0.probability))]) })
                object["exit"] = .number(Double(p.exit))
                object["operations"] = .number(p.operations)
            } else {
                object["error"] = .string(r.skipReason ?? "")
            }
            return JSONValue.object(object).description
        case .table:
            guard let p = r.prediction else { return "\(r.url.relativePath)  skipped: \(r.skipReason ?? "")" }
            let ranked = p.top.map { "\(name($0.label)) \(String(format: "%.2f", $0.probability))" }.joined(separator: ", ")
            return "\(r.url.relativePath)  \(ranked)  (exit \(p.exit + 1), \(String(format: "%.2f", p.operations / 1e6))M ops)"
        }
    }

    private func csv(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}

/// Counts for the closing summary.
struct PredictionSummary {
    var done = 0, skipped = 0, ignored = 0
    var histogram: [Int]
    var operations = 0.0

    init(exits: Int) { histogram = [Int](repeating: 0, count: exits) }

    mutating func add(_ r: FileClassifier.Result) {
        done += 1
        switch r.outcome {
        case .classified(let p):
            histogram[p.exit] += 1
            operations += p.operations
        case .skipped: skipped += 1
        case .notAnImage: ignored += 1
        }
    }

    func text(seconds: Double, skippedPaths: Int) -> String {
        let images = done - skipped - ignored
        return String(format: "%d images classified, %d skipped, %d other files ignored, %.1f images/s, %.2fM operations per image on average\n",
                      images, skipped + skippedPaths, ignored, Double(images) / max(seconds, 1e-9), images > 0 ? operations / Double(images) / 1e6 : 0)
            + "images leaving at each exit: " + histogram.map(String.init).joined(separator: " ")
    }
}
