import Foundation

/// Accuracy against operations as a self-contained SVG: each exit, the authors' budget
/// sweep, and a measured early-exit run when there is one. `ranet evaluate --plot`
/// writes it; `ranet predict --report` embeds it.
public struct AccuracyPlot: Sendable {
    /// Each exit's accuracy and cost.
    public var exits: [AnytimeEvaluation.Exit]
    /// The authors' budget sweep (``BudgetedClassification/sweep(val:valTargets:test:testTargets:opsPerExit:steps:)``).
    public var sweep: [BudgetedClassification.SweepRow]
    /// A measured early-exit run: operations per image and top-1 accuracy in percent.
    public var measured: (operations: Double, top1: Double)?

    /// A plot of these points.
    public init(exits: [AnytimeEvaluation.Exit], sweep: [BudgetedClassification.SweepRow], measured: (operations: Double, top1: Double)? = nil) {
        self.exits = exits
        self.sweep = sweep
        self.measured = measured
    }

    /// The SVG document.
    public var svg: String {
        let (w, h, m) = (640.0, 420.0, 60.0)
        let xs = exits.map { $0.ops / 1e6 } + sweep.map { $0.testExpectedOps / 1e6 } + [measured?.operations ?? exits[0].ops].map { $0 / 1e6 }
        let ys = exits.map(\.top1) + sweep.map(\.testAccuracy) + [measured?.top1 ?? exits[0].top1]
        let (x0, x1) = (0.0, (xs.max() ?? 1) * 1.05)
        let (y0, y1) = (floor((ys.min() ?? 0) - 1), ceil((ys.max() ?? 100) + 1))
        func px(_ x: Double) -> Double { m + (x - x0) / (x1 - x0) * (w - 2 * m) }
        func py(_ y: Double) -> Double { h - m - (y - y0) / max(y1 - y0, 1e-9) * (h - 2 * m) }
        func line(_ points: [(Double, Double)], _ color: String) -> String {
            let path = points.map { String(format: "%.1f,%.1f", px($0.0), py($0.1)) }.joined(separator: " ")
            return "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(path)\"/>"
                + points.map { String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"\(color)\"/>", px($0.0), py($0.1)) }.joined()
        }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" font-family=\"sans-serif\" font-size=\"12\">"
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>"
        svg += String(format: "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>", m, h - m, w - m, h - m)
        svg += String(format: "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>", m, m, m, h - m)
        for i in 0...4 {
            let xv = x0 + (x1 - x0) * Double(i) / 4, yv = y0 + (y1 - y0) * Double(i) / 4
            svg += String(format: "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">%.1f</text>", px(xv), h - m + 18, xv)
            svg += String(format: "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%.1f</text>", m - 6, py(yv) + 4, yv)
        }
        svg += "<text x=\"\(Int(w / 2))\" y=\"\(Int(h - 15))\" text-anchor=\"middle\">operations per image (millions, authors' counting)</text>"
        svg += "<text x=\"15\" y=\"\(Int(h / 2))\" transform=\"rotate(-90 15 \(Int(h / 2)))\" text-anchor=\"middle\">top-1 accuracy (%)</text>"
        svg += line(exits.map { ($0.ops / 1e6, $0.top1) }, "#1f77b4")
        svg += line(sweep.sorted { $0.testExpectedOps < $1.testExpectedOps }.map { ($0.testExpectedOps / 1e6, $0.testAccuracy) }, "#ff7f0e")
        var legend = [("each exit", "#1f77b4"), ("budget sweep (authors' geometric thresholds)", "#ff7f0e")]
        if let measured {
            svg += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"6\" fill=\"#2ca02c\"/>", px(measured.operations / 1e6), py(measured.top1))
            legend.append(("early exit, measured", "#2ca02c"))
        }
        for (i, (name, color)) in legend.enumerated() {
            let y = Int(m) + 16 * i
            svg += "<rect x=\"\(Int(w - 330))\" y=\"\(y - 9)\" width=\"10\" height=\"10\" fill=\"\(color)\"/><text x=\"\(Int(w - 315))\" y=\"\(y)\">\(name)</text>"
        }
        return svg + "</svg>\n"
    }
}
