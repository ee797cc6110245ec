import Foundation

/// One self-contained HTML page of a folder's predictions, as the paper's Fig. 7 shows
/// them: the images grouped by the exit they left at, each with its class and
/// confidence; per exit the count and the operations spent; with labels, the accuracy
/// per exit and the accuracy-against-operations curve.
///
/// Thumbnails are embedded as PNG data; the page needs no network and no script.
///
/// ```swift
/// var report = PredictionReport(model: model, thresholds: thresholds)
/// var classifier = FileClassifier(model: model, thresholds: thresholds, thumbnailSide: PredictionReport.thumbnailSide)
/// classifier.everyExit = true                  // for the curve, when the files have labels
/// try classifier.run(files) { result in
///     try report.add(result, label: PredictionReport.folderLabel(of: result.url, under: root, model: model))
/// }
/// try writeFileAtomically(Data(report.html().utf8), to: URL(fileURLWithPath: "report.html"))
/// ```
public struct PredictionReport {
    /// The thumbnails' longer side, in pixels.
    public static let thumbnailSide = 96

    private struct Entry {
        let name: String
        let prediction: Prediction
        let label: Int?
        let thumbnail: String?
        let exitScores: [[ClassScore]]?
    }

    private let model: RANetModel
    private let thresholds: ExitThresholds
    private let title: String
    private var entries: [Entry] = []
    private var skipped: [(name: String, reason: String)] = []

    /// An empty report for `model` run with `thresholds`.
    public init(model: RANetModel, thresholds: ExitThresholds, title: String = "Which images left at which exit") {
        self.model = model
        self.thresholds = thresholds
        self.title = title
    }

    /// Adds one file's result (its thumbnail, if it has one) and its true class, if known;
    /// `name` is how the page names the file (default: its path).
    public mutating func add(_ result: FileClassifier.Result, label: Int?, name: String? = nil) throws {
        let name = name ?? result.url.relativePath
        switch result.outcome {
        case .classified(let prediction):
            let thumbnail = try result.thumbnail.map { "data:image/png;base64," + (try $0.pngData()).base64EncodedString() }
            entries.append(Entry(name: name, prediction: prediction, label: label, thumbnail: thumbnail, exitScores: result.exitScores))
        case .skipped(let reason):
            skipped.append((name, reason))
        case .notAnImage:
            break
        }
    }

    /// The class of a file in an image-folder tree under `root` (`root/CLASS/…`): the
    /// model's class the folder is named after (letters and digits compared, case
    /// ignored, so `T-shirt-top` is `T-shirt/top`), or the class number it is named;
    /// nil otherwise.
    public static func folderLabel(of file: URL, under root: URL, model: RANetModel) -> Int? {
        let rootParts = root.standardizedFileURL.pathComponents, parts = file.standardizedFileURL.pathComponents
        guard parts.count > rootParts.count + 1, Array(parts.prefix(rootParts.count)) == rootParts else { return nil }
        let folder = parts[rootParts.count]
        func key(_ s: String) -> String { String(s.lowercased().filter { $0.isLetter || $0.isNumber }) }
        if let classes = model.metadata.classes, let index = classes.firstIndex(where: { key($0) == key(folder) }) { return index }
        if let index = Int(folder), index >= 0, index < model.numClasses { return index }
        return nil
    }

    /// The page.
    public func html() -> String {
        let exits = model.exitCount, ops = model.operationCount.opsPerExit
        let labelled = !entries.isEmpty && entries.allSatisfy { $0.label != nil }
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
            <style>
            body { font-family: sans-serif; margin: 24px; color: #222; }
            table { border-collapse: collapse; margin: 12px 0; }
            th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: right; }
            th:first-child, td:first-child { text-align: left; white-space: nowrap; }
            .grid { display: flex; flex-wrap: wrap; gap: 10px; }
            figure { margin: 0; width: 120px; font-size: 11px; text-align: center; }
            figure img { width: 96px; height: 96px; object-fit: contain; background: #f4f4f4; border: 1px solid #ddd; }
            figcaption { overflow-wrap: anywhere; }
            .wrong { color: #b00; }
            </style></head><body>
            <h1>\(escape(title))</h1>

            """
        let total = entries.reduce(0.0) { $0 + $1.prediction.operations }
        let count = entries.count
        page += "<p>\(count) images classified"
        if !skipped.isEmpty { page += ", \(skipped.count) skipped" }
        page += String(format: "; %.2fM operations per image on average (%.0f%% of the full network's %.2fM).", count == 0 ? 0 : total / Double(count) / 1e6,
                       count == 0 ? 0 : total / Double(count) / ops[exits - 1] * 100, ops[exits - 1] / 1e6)
        page += " Thresholds: " + thresholds.values.map { $0 >= 1e7 ? "never" : $0 <= -1e7 ? "always" : String(format: "%.4g", $0) }.joined(separator: ", ") + ".</p>\n"
        page += "<table><tr><th>exit</th><th>images</th><th>share</th><th>operations each</th><th>operations spent</th>"
        if labelled { page += "<th>accuracy of the images leaving here</th><th>accuracy if every image left here</th>" }
        page += "</tr>\n"
        let byExit = (0..<exits).map { k in entries.filter { $0.prediction.exit == k } }
        for k in 0..<exits {
            let group = byExit[k]
            page += String(format: "<tr><td><a href=\"#exit-%d\">exit %d</a></td><td>%d</td><td>%.1f%%</td><td>%.2fM</td><td>%.2fM</td>", k + 1, k + 1,
                           group.count, count == 0 ? 0 : Double(group.count) * 100 / Double(count), ops[k] / 1e6, Double(group.count) * ops[k] / 1e6)
            if labelled {
                page += "<td>" + (group.isEmpty ? "–" : String(format: "%.1f%%", accuracy(group))) + "</td>"
                page += "<td>" + (anytime(k).map { String(format: "%.1f%%", $0) } ?? "–") + "</td>"
            }
            page += "</tr>\n"
        }
        page += String(format: "<tr><th>all</th><th>%d</th><th>100%%</th><th></th><th>%.2fM</th>", count, total / 1e6)
        if labelled { page += "<th>" + (count == 0 ? "–" : String(format: "%.1f%%", accuracy(entries))) + "</th><th></th>" }
        page += "</tr></table>\n"
        if labelled, let plot = curve() { page += "<h2>Accuracy against operations</h2>\n" + plot }
        else if !labelled { page += "<p>No labels: give an image-folder tree (one folder per class, named by class) for the accuracy.</p>\n" }
        for k in 0..<exits {
            page += String(format: "<h2 id=\"exit-%d\">Exit %d: %d images, %.2fM operations each</h2>\n<div class=\"grid\">\n", k + 1, k + 1, byExit[k].count, ops[k] / 1e6)
            for e in byExit[k] {
                let wrong = e.label.map { $0 != e.prediction.label } ?? false
                page += "<figure>"
                if let thumbnail = e.thumbnail { page += "<img src=\"\(thumbnail)\" alt=\"\(escape(e.name))\">" }
                page += "<figcaption><span class=\"name\">\(escape(e.name))</span><br><span\(wrong ? " class=\"wrong\"" : "")>"
                page += escape(className(e.prediction.label)) + String(format: " %.1f%%", e.prediction.probability * 100)
                if wrong, let label = e.label { page += " (is " + escape(className(label)) + ")" }
                page += "</span></figcaption></figure>\n"
            }
            page += "</div>\n"
        }
        if !skipped.isEmpty {
            page += "<h2>Skipped</h2>\n<ul>\n" + skipped.map { "<li>\(escape($0.name)): \(escape($0.reason))</li>\n" }.joined() + "</ul>\n"
        }
        return page + "</body></html>\n"
    }

    private func className(_ label: Int) -> String {
        model.metadata.classes.flatMap { label < $0.count ? $0[label] : nil } ?? "class \(label)"
    }

    private func accuracy(_ group: [Entry]) -> Double {
        Double(group.filter { $0.label == $0.prediction.label }.count) * 100 / Double(max(group.count, 1))
    }

    /// Top-1 accuracy in percent if every image had left at exit k (needs every exit's scores).
    private func anytime(_ k: Int) -> Double? {
        guard entries.allSatisfy({ $0.exitScores != nil }) else { return nil }
        return Double(entries.filter { $0.exitScores![k][0].label == $0.label }.count) * 100 / Double(max(entries.count, 1))
    }

    /// The curve `ranet evaluate --plot` draws, from every exit's scores on these images.
    private func curve() -> String? {
        guard entries.allSatisfy({ $0.exitScores != nil && $0.label != nil }) else { return nil }
        let exits = model.exitCount, ops = model.operationCount.opsPerExit
        let labels = entries.map { $0.label! }
        let confidences = ExitConfidences(confidence: (0..<exits).map { k in entries.map { $0.exitScores![k][0].probability } },
                                          prediction: (0..<exits).map { k in entries.map { $0.exitScores![k][0].label } },
                                          classCount: model.numClasses)
        guard let sweep = try? BudgetedClassification.sweep(val: confidences, valTargets: labels, test: confidences, testTargets: labels,
                                                            opsPerExit: ops) else { return nil }
        let perExit = (0..<exits).map { k in
            AnytimeEvaluation.Exit(top1: anytime(k) ?? 0,
                                   top5: Double(entries.filter { e in e.exitScores![k].contains { $0.label == e.label } }.count) * 100 / Double(entries.count),
                                   ops: ops[k])
        }
        let measured = (entries.reduce(0.0) { $0 + $1.prediction.operations } / Double(entries.count), accuracy(entries))
        // Inline SVG in HTML needs no namespace: the page then names no address at all.
        return AccuracyPlot(exits: perExit, sweep: sweep, measured: measured).svg
            .replacingOccurrences(of: " xmlns=\"http://www.w3.org/2000/svg\"", with: "")
    }

    private func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
