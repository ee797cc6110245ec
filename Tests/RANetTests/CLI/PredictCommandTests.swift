import Foundation
import RANet
import XCTest

/// `ranet predict` on real photos, broken files and the shipped samples.
final class PredictCommandTests: XCTestCase, CommandLineTesting {
    private var samples: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Samples/images")
    }

    func testSamplesAreClassifiedAsTheirNamesSay() throws {
        let output = try TestData.temporaryFolder().appendingPathComponent("out.jsonl")
        let run = try withArguments(["predict", samples.path, "--output", output.path, "--top", "3"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let rows = try String(contentsOf: output, encoding: .utf8).split(separator: "\n").map { try JSONValue.parse(String($0)) }
        XCTAssertEqual(rows.count, 16)
        var correct = 0
        for row in rows {
            guard case .array(let top) = row["top"] else { return XCTFail("no top list") }
            XCTAssertEqual(top.count, 3)
            let name = row["path"]!.stringValue!.split(separator: "/").last!.dropFirst(5).dropLast(4)
            let predicted = top[0]["class"]!.stringValue!.lowercased().replacingOccurrences(of: "/", with: "-").replacingOccurrences(of: " ", with: "-")
            if predicted == name { correct += 1 }
            XCTAssertNotNil(row["exit"]?.intValue)
        }
        XCTAssertGreaterThanOrEqual(correct, 14, "the bundled model should get nearly all samples right")
        XCTAssertTrue(run.stdout.contains("16 images classified, 0 skipped"), run.stdout)
    }

    /// A folder with a file of every format and variant (the format fixtures): every one
    /// is classified, none is ignored or skipped.
    func testEveryFormatIsClassified() throws {
        let formats = TestData.fixtures.appendingPathComponent("formats")
        let images = try FileManager.default.contentsOfDirectory(atPath: formats.path).filter { !$0.hasSuffix(".json") }
        let output = try TestData.temporaryFolder().appendingPathComponent("out.csv")
        let run = try withArguments(["predict", formats.path, "--output", output.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("\(images.count) images classified, 0 skipped, 1 other files ignored"), run.stdout)
        let rows = try String(contentsOf: output, encoding: .utf8).split(separator: "\n").dropFirst()
        XCTAssertEqual(rows.count, images.count)
        XCTAssertTrue(rows.allSatisfy { $0.hasSuffix(",") }, "no row has an error")
    }

    func testBadFilesAreReportedSkippedAndCounted() throws {
        let images = try TestData.sharedItem("reference/images")
        let output = try TestData.temporaryFolder().appendingPathComponent("out.csv")
        let run = try withArguments(["predict", images.path, "/nonexistent/folder", "--output", output.path, "--max-pixels", "1000000"])
        XCTAssertEqual(run.status, 3, "exit status 3 says some files were skipped")
        let csv = try String(contentsOf: output, encoding: .utf8)
        XCTAssertTrue(csv.hasPrefix("path,class_1,probability_1,exit,operations,error\n"))
        for (file, reason) in [("empty.png", "empty file"), ("not_an_image.jpg", "not an image (JPEG, PNG"), ("truncated.jpg", "Premature end"),
                               ("retina.jpg", "exceeds the limit")] {
            XCTAssertTrue(run.stderr.contains("skipped \(images.appendingPathComponent(file).path): "), file)
            XCTAssertTrue(csv.split(separator: "\n").contains { $0.contains(file) && $0.contains(reason) }, "\(file): \(reason)")
        }
        XCTAssertTrue(run.stderr.contains("skipped /nonexistent/folder: no such file or directory"))
        XCTAssertFalse(csv.contains("README.txt"), "files that are not images by content or name are ignored")
        XCTAssertTrue(run.stdout.contains("13 images classified, 5 skipped"), run.stdout)
    }

    /// A FIFO would block a reader forever: in a folder it is passed over, named directly it is refused.
    func testSpecialFilesNeverHang() throws {
        let folder = try TestData.temporaryFolder()
        let fifo = folder.appendingPathComponent("pipe.png")
        XCTAssertEqual(mkfifo(fifo.path, 0o644), 0)
        try FileManager.default.copyItem(at: samples.appendingPathComponent("0002-trouser.png"), to: folder.appendingPathComponent("a.png"))
        let run = try withArguments(["predict", folder.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("1 images classified, 0 skipped"), run.stdout)
        let direct = try withArguments(["predict", fifo.path])
        XCTAssertEqual(direct.status, 3)
        XCTAssertTrue(direct.stdout.contains("not a regular file"), direct.stdout)
    }

    func testShardsCoverEveryFileOnce() throws {
        var seen: [String] = []
        for i in 0..<3 {
            let output = try TestData.temporaryFolder().appendingPathComponent("s.csv")
            XCTAssertEqual(try withArguments(["predict", samples.path, "--shard", "\(i)/3", "--output", output.path]).status, 0)
            seen += try String(contentsOf: output, encoding: .utf8).split(separator: "\n").dropFirst().map { String($0.split(separator: ",")[0]) }
        }
        XCTAssertEqual(seen.count, 16)
        XCTAssertEqual(Set(seen).count, 16)
        let all = ImageFinder.files(under: [samples], recursive: false).files
        for count in 1...5 {
            let shards = (0..<count).flatMap { ImageFinder.shard(all, index: $0, count: count) }
            XCTAssertEqual(shards.sorted { $0.path < $1.path }, all)
        }
        assertFails(try withArguments(["predict", samples.path, "--shard", "3/3"]), mentioning: "--shard", usage: true)
    }

    func testOutputIsAllOrNothing() throws {
        let folder = try TestData.temporaryFolder()
        let output = folder.appendingPathComponent("out.csv")
        assertFails(try withArguments(["predict", samples.path, "--output", output.path, "--thresholds", folder.appendingPathComponent("none.json").path]),
                    mentioning: "no such")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), [])
        assertFails(try withArguments(["predict", samples.path, "--output", folder.appendingPathComponent("out.txt").path]), mentioning: ".csv or .jsonl", usage: true)
    }
}
