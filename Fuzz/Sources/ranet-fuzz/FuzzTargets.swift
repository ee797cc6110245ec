// One libFuzzer entry point for all readers; RANET_FUZZ_TARGET picks which one.
// Every input must end in a value or a thrown error: a crash, a trap, an out-of-bounds
// access (AddressSanitizer) or a hang (libFuzzer's -timeout) is a finding.
import Foundation
@testable import RANet

enum FuzzTarget: String, CaseIterable {
    case zip, pickle, checkpoint, safetensors, npy, args, json, image
}

private let target: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["RANET_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let known = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("set RANET_FUZZ_TARGET to one of: \(known)\n".utf8))
        exit(2)
    }
    return target
}()

/// Runs one input through the chosen reader.
func fuzzOne(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = start.map { Data(bytes: $0, count: count) } ?? Data()
    switch target {
    case .zip:
        _ = try? ZipArchive(data: data, path: "fuzz")
    case .pickle:
        _ = try? PickleReader(path: "fuzz").read(data)
    case .checkpoint:
        // Values are read on access: read them all, as loading a model does.
        _ = try? TorchCheckpoint.readStateDict(FileBytes(data), path: "fuzz").tensors.values.map(\.values.count)
    case .safetensors:
        _ = try? SafetensorsFile.read(FileBytes(data), path: "fuzz").0.tensors.values.map(\.values.count)
    case .npy:
        _ = try? NpyFile.read(data: data, path: "fuzz")
    case .args:
        if let config = try? RANetConfig.parseArgs(String(decoding: data, as: UTF8.self)) {
            _ = try? NetworkDescription(config: config)
        }
    case .json:
        if let config = try? RANetConfig.parseJSON(data) {
            _ = try? NetworkDescription(config: config)
        }
    case .image:
        if let image = try? DecodedImage(encoded: data, maxPixels: 1_000_000) {
            _ = ImagePipeline.cifar32.tensorValues(for: image)
        }
    }
    return 0
}
