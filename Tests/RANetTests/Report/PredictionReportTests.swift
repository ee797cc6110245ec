import Foundation
import RANet
import XCTest

/// `ranet predict --report`: a labelled folder of mixed formats becomes one page that
/// Chromium renders with every image on it.
final class PredictionReportTests: XCTestCase, CommandLineTesting {
    private var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// The samples in class folders (`Ankle boot/0000-ankle-boot.png`…), plus files of
    /// other formats and a broken one.
    private func labelledFolder() throws -> (URL, [String]) {
        let folder = try TestData.temporaryFolder().appendingPathComponent("photos")
        let samples = root.appendingPathComponent("Samples/images")
        var names: [String] = []
        for file in try FileManager.default.contentsOfDirectory(atPath: samples.path).sorted() where file.hasSuffix(".png") {
            let label = String(file.dropFirst(5).dropLast(4))  // "ankle-boot", matched to "Ankle boot"
            let target = folder.appendingPathComponent(label)
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: samples.appendingPathComponent(file), to: target.appendingPathComponent(file))
            names.append("\(label)/\(file)")
        }
        let formats = TestData.fixtures.appendingPathComponent("formats")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("bag"), withIntermediateDirectories: true)
        for file in ["lossy.webp", "rgb-tiles.tif", "rgb24.bmp", "rgb.ppm", "photo.heic"] {
            try FileManager.default.copyItem(at: formats.appendingPathComponent(file), to: folder.appendingPathComponent("bag/" + file))
            names.append("bag/" + file)
        }
        try Data("<html>not a photo</html>".utf8).write(to: folder.appendingPathComponent("bag/saved-page.jpg"))
        return (folder, names)
    }

    func testReportHasEveryImageGroupedByExitWithAccuracy() throws {
        let (folder, names) = try labelledFolder()
        let report = folder.deletingLastPathComponent().appendingPathComponent("report.html")
        let run = try withArguments(["predict", folder.path, "--recursive", "--report", report.path])
        XCTAssertEqual(run.status, 3, "the broken file is skipped: \(run.stderr)")
        let html = try String(contentsOf: report, encoding: .utf8)
        for name in names { XCTAssertTrue(html.contains(">\(name)<"), "\(name) is not on the page") }
        XCTAssertEqual(html.components(separatedBy: "src=\"data:image/png;base64,").count - 1, names.count, "one embedded thumbnail per image")
        XCTAssertTrue(html.contains("saved-page.jpg"), "skipped files are listed")
        XCTAssertTrue(html.contains("accuracy of the images leaving here"))
        XCTAssertTrue(html.contains("<svg"), "a labelled folder gets the accuracy curve")
        XCTAssertFalse(html.contains("http://") || html.contains("https://") || html.contains("<script"), "the page needs no network and no script")
        for k in 1...6 { XCTAssertTrue(html.contains("id=\"exit-\(k)\"")) }
    }

    func testReportIsWrittenWholeOrNotAtAll() throws {
        let (folder, _) = try labelledFolder()
        let report = folder.deletingLastPathComponent().appendingPathComponent("r.html")
        let bad = try withArguments(["predict", folder.path, "--report", report.appendingPathExtension("txt").path])
        assertFails(bad, mentioning: "--report", usage: true)
        let missing = try withArguments(["predict", "/nonexistent", "--report", report.path, "--model", "/nonexistent/model"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: report.path))
    }

    /// Headless Chromium renders the page: the screenshot is not blank and the text it
    /// lays out names every image. `make test` installs Debian's chromium.
    func testChromiumRendersTheReport() throws {
        guard let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("chromium is not installed (make test installs it)")
        }
        let (folder, names) = try labelledFolder()
        let report = folder.deletingLastPathComponent().appendingPathComponent("report.html")
        XCTAssertEqual(try withArguments(["predict", folder.path, "--recursive", "--report", report.path]).status, 3)
        let screenshot = report.deletingLastPathComponent().appendingPathComponent("shot.png")
        let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=" + report.deletingLastPathComponent().appendingPathComponent("profile").path]
        _ = try Self.run(chromium, flags + ["--window-size=1000,1400", "--screenshot=" + screenshot.path, report.absoluteString])
        let image = try DecodedImage(contentsOf: screenshot)
        XCTAssertEqual(image.width, 1000)
        var colours = Set<Int>(), dark = 0
        for i in stride(from: 0, to: image.rgb.count, by: 3) {
            let (r, g, b) = (Int(image.rgb[i]), Int(image.rgb[i + 1]), Int(image.rgb[i + 2]))
            colours.insert(r << 16 | g << 8 | b)
            if r + g + b < 384 { dark += 1 }
        }
        XCTAssertGreaterThan(colours.count, 50, "the screenshot looks blank")
        XCTAssertGreaterThan(Double(dark) / Double(image.width * image.height), 0.02, "the screenshot has almost nothing on it")
        let text = try Self.run(chromium, flags + ["--dump-dom", report.absoluteString])
        for name in names { XCTAssertTrue(text.contains(name), "\(name) is not in the rendered page") }
    }

    private static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
