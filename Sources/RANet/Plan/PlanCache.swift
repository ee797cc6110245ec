import CRANet
import Foundation

/// A folder of measured ``SingleImagePlan``s, so that a second process running the same
/// architecture on the same CPU starts with the first one's choice instead of timing
/// again.
///
/// A plan is keyed by the CPU's model name, the instruction sets of oneDNN and of the row
/// kernels (what their bf16 multiply-adds run on included), the thread count and the
/// architecture (the layers' shapes; weights do not change the timing). A file that cannot be read, or that does not fit the model, is ignored and
/// measured again; failing to write one only costs the next process the measurement.
public struct PlanCache: Sendable, Equatable {
    /// The folder the plans are kept in.
    public let directory: URL

    /// A cache in `directory` (created when the first plan is stored).
    public init(directory: URL) {
        self.directory = directory
    }

    /// `$XDG_CACHE_HOME/ranet/plans`, or `~/.cache/ranet/plans`.
    public static var defaultDirectory: URL {
        let environment = ProcessInfo.processInfo.environment
        let base = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return base.appendingPathComponent("ranet").appendingPathComponent("plans")
    }

    /// A plan as stored: the public types stay free of Codable's members.
    private struct Entry: Codable {
        struct Layer: Codable {
            let name: String
            let backend: String
            let rowsMilliseconds: Double?
            let oneDNNMilliseconds: Double?
            let oneDNNF32Milliseconds: Double?
        }
        struct LaneGroups: Codable {
            let lanes: Int
            let groupMillisecondsPerImage: Double
            let aloneMilliseconds: Double
        }
        let key: String
        let threads: Int
        let layers: [Layer]
        let laneGroups: LaneGroups?

        init(key: String, plan: SingleImagePlan) {
            self.key = key
            threads = plan.threads
            layers = plan.layers.map { Layer(name: $0.name, backend: $0.backend.rawValue, rowsMilliseconds: $0.rowsMilliseconds,
                                             oneDNNMilliseconds: $0.oneDNNMilliseconds, oneDNNF32Milliseconds: $0.oneDNNF32Milliseconds) }
            laneGroups = plan.laneGroups.map { LaneGroups(lanes: $0.lanes, groupMillisecondsPerImage: $0.groupMillisecondsPerImage,
                                                          aloneMilliseconds: $0.aloneMilliseconds) }
        }

        /// The plan, or nil when a backend's name is unknown.
        var plan: SingleImagePlan? {
            var choices: [SingleImagePlan.LayerChoice] = []
            for layer in layers {
                guard let backend = SingleImagePlan.Backend(rawValue: layer.backend) else { return nil }
                var choice = SingleImagePlan.LayerChoice(name: layer.name, backend: backend, rowsMilliseconds: layer.rowsMilliseconds,
                                                         oneDNNMilliseconds: layer.oneDNNMilliseconds)
                choice.oneDNNF32Milliseconds = layer.oneDNNF32Milliseconds
                choices.append(choice)
            }
            return SingleImagePlan(layers: choices, threads: threads, source: .cached, laneGroups: laneGroups.map {
                .init(lanes: $0.lanes, groupMillisecondsPerImage: $0.groupMillisecondsPerImage, aloneMilliseconds: $0.aloneMilliseconds)
            })
        }
    }

    /// How plans are measured; a plan measured otherwise is measured again. 2: an image
    /// alone runs its row-kernel layers on oneDNN's OpenMP threads too, and lane groups are
    /// compared with images alone over at least three rounds. 3: against images alone in
    /// a row batch where the network has layers to batch. 4: the kernels of widths 8 and 4
    /// take register tiles that no longer spill (twice as fast at width 8), so the times
    /// measured with the old ones, and the verdicts on lane groups drawn from them, are stale.
    /// 5: bf16 layers round what they store instead of staging and rounding every input, so
    /// the bf16 times measured before are stale. 6: bf16 layers with weights are timed on
    /// oneDNN's f32 kernels too (``SingleImagePlan/Backend/oneDNNF32``), and the bf16 row
    /// kernels read their weights by channels as bf16. 7: bf16 kernels sum input channels in
    /// pairs, on VDPBF16PS where the CPU has it. 8: there, the bf16 row kernels by output
    /// channels read their input staged in pairs (``cranet_conv_layout/paired``). 9: so do
    /// those by pixels, but for 1×1 layers into few channels, and the row kernels by
    /// channels prefetch their weights: both change which backend wins a layer. 10: a dense
    /// block's 1×1 layers stage only the channels appended since the last (``StagedInputs``),
    /// and every bf16 row-kernel input on VDPBF16PS is staged in pairs.
    static let measurement = 10

    /// What a plan depends on, as one line. `teamThreads`: the threads a batch shares,
    /// on which a row batch is compared with lane groups (only the plan of images on one
    /// thread each, with lanes wider than 1, holds that comparison).
    static func key(network: NetworkDescription, precision: Precision, rowWidth: Int, lanes: Int, threads: Int, teamThreads: Int) -> String {
        // What the row kernels' bf16 multiply-adds run on: VDPBF16PS or not, per CPU and environment.
        let dot = cranet_row_kernels(Int32(rowWidth), precision.bridge).map { String(cString: cranet_kernels_bf16_dot($0)) } ?? "none"
        let team = lanes > 1 && threads == 1 ? " team=\(teamThreads)" : ""
        var architecture = StableHash()
        for layer in network.layers {
            let from = network.shape(of: layer.input), to = network.shape(of: layer.output)
            architecture.add("\(layer.operation) \(from) \(to);")
        }
        return "measurement=\(measurement) cpu=\(cpuModel) onednn_bits=\(cranet_onednn_vector_bits()) rows=\(rowWidth) bf16_dot=\(dot) lanes=\(lanes) threads=\(threads)\(team) precision=\(precision.rawValue) layers=\(network.layers.count) architecture=\(architecture.hex)"
    }

    /// The file a key's plan lives in.
    func file(for key: String) -> URL {
        var hash = StableHash()
        hash.add(key)
        return directory.appendingPathComponent("single-image-\(hash.hex).json")
    }

    /// The plan stored under `key`, if one is there and fits `network`.
    func load(key: String, network: NetworkDescription, precision: Precision) -> SingleImagePlan? {
        guard let data = try? Data(contentsOf: file(for: key)),
              let entry = try? JSONDecoder().decode(Entry.self, from: data),
              entry.key == key, let plan = entry.plan, plan.layers.count == network.layers.count,
              zip(plan.layers, network.layers).allSatisfy({ $0.name == SingleImagePlan.name(of: $1) }) else { return nil }
        let candidates = Dictionary(uniqueKeysWithValues: OneDNNKernels.allCases.map {
            ($0, Set(OneDNNLayers.candidates(network, precision: precision, kernels: $0)))
        })
        guard plan.oneDNNKernels.allSatisfy({ candidates[$0.value]!.contains($0.key) }) else { return nil }
        return plan
    }

    /// Stores `plan` under `key` (a temporary file, then a rename: readers never see half
    /// a file). Returns false when the folder or file cannot be written.
    @discardableResult
    func store(_ plan: SingleImagePlan, key: String) -> Bool {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try writeFileAtomically(encoder.encode(Entry(key: key, plan: plan)), to: file(for: key))
            return true
        } catch {
            return false
        }
    }

    /// The CPU's model name (`model name` in /proc/cpuinfo; arm64's implementer and part).
    static let cpuModel: String = {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2, fields[parts[0]] == nil { fields[parts[0]] = parts[1] }
        }
        if let name = fields["model name"] { return name }
        let arm = [fields["CPU implementer"], fields["CPU part"]].compactMap { $0 }
        return arm.isEmpty ? "unknown" : arm.joined(separator: "/")
    }()
}
