import ArgumentParser
import Foundation
import RANet

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time the network: images/s and ms per batch, every exit (anytime) or with early exit (budgeted).",
        discussion: "After a warm-up, each batch size is timed repeatedly for about --seconds (or --batches times); the median and the spread (min–max) are reported, with the peak resident memory at the end and after the warm-up. Also reported: the threads a batch actually runs on (a single image runs on one). Budgeted mode also reports the realized operations per image. With --requests N, N calls run at once, each on its own batch and on threads / N threads, timed in rounds of N batches: the throughput of a server answering several clients, which OpenVINO's throughput setting measures the same way. Inputs are random unless --data gives real ones. With --preset, the weights are random.")

    enum Mode: String, ExpressibleByArgument, CaseIterable { case anytime, budgeted }

    @OptionGroup var source: ModelOptions

    @Option(help: ArgumentHelp("A paper configuration with random weights instead of a model.", valueName: "name"))
    var preset: String?

    @Option(help: ArgumentHelp("Batch sizes, comma-separated.", valueName: "n,n,..."))
    var batch = "1,8,64"

    @Option(help: "Threads (default: all cores).")
    var threads: Int?

    @Option(help: ArgumentHelp("Calls in flight at once, each on its own batch and on threads / requests threads: a server answering several clients, as OpenVINO's throughput setting runs several requests.", valueName: "n"))
    var requests = 1

    @OptionGroup var engine: EngineOptions

    @Option(help: "anytime (every exit) or budgeted (early exit with --thresholds, --budget or the model's own thresholds).")
    var mode: Mode = .anytime

    @OptionGroup var thresholdOptions: ThresholdOptions

    @Option(help: ArgumentHelp("Labeled data whose images are timed (IDX or CIFAR binary); random inputs otherwise.", valueName: "file"))
    var data: String?

    @Option(help: ArgumentHelp("An int64 .npy selecting the records of --data.", valueName: "file"))
    var indices: String?

    @Option(help: "Seconds of timing per batch size.")
    var seconds = 3.0

    @Option(name: .customLong("batches"), help: ArgumentHelp("Time exactly this many batches per batch size instead of --seconds.", valueName: "n"))
    var batchCount: Int?

    @Flag(help: "Print one JSON object per line.")
    var json = false

    @Flag(help: "Time training steps instead (train mode, loss, backward, SGD update) on random images and labels: images/s and the time split forward / backward / update.")
    var train = false

    @Option(help: TrainingConvolutions.help(default: .fastest))
    var convolutions: TrainingConvolutions = .fastest

    func validate() throws {
        if batchSizes.isEmpty || batchSizes.contains(where: { $0 < 1 }) { throw ValidationError("--batch takes positive sizes, e.g. 1,8,64") }
        if preset != nil && source.model != nil { throw ValidationError("give either --preset or --model") }
        if !(seconds > 0) { throw ValidationError("--seconds must be positive") }
        if let batchCount, batchCount < 1 { throw ValidationError("--batches must be positive") }
        if requests < 1 { throw ValidationError("--requests must be positive") }
        if train && requests != 1 { throw ValidationError("--requests times inference; --train runs one step at a time") }
    }

    private var batchSizes: [Int] { batch.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) ?? 0 } }

    func run() throws {
        let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
        if train { return try runTraining(threads: threadCount) }
        guard requests <= threadCount else {
            throw ValidationError("--requests \(requests) needs at least as many --threads" +
                                  (threads == nil ? "; this machine has \(threadCount) cores" : " (each request gets threads / requests)"))
        }
        let threadsPerRequest = threadCount / requests
        let options = engine.options(threads: threadsPerRequest)
        let model: RANetModel
        if let preset {
            let config = try RANetConfig.preset(named: preset)
            model = try RANetModel(config: config, stateDict: .random(for: try NetworkDescription(config: config)), options: options)
        } else {
            model = try source.load(options: options)
        }
        var thresholds: ExitThresholds?
        if mode == .budgeted {
            thresholds = try thresholdOptions.resolve(for: model) ?? model.metadata.defaultThresholds
            if thresholds == nil { throw ValidationError("--mode budgeted needs --thresholds or --budget: this model carries no thresholds of its own") }
        }
        // Real inputs rotate through up to 2048 images, so early exit sees a representative mix.
        let per = model.imageShape.reduce(1, *)
        let pool = try inputs(for: model, count: data == nil ? batchSizes.max()! : max(batchSizes.max()!, 2048))
        let poolCount = pool.shape[0]
        for size in batchSizes {
            let batches = try (0..<max(1, poolCount / size)).map { b in
                try Tensor(shape: [size] + model.imageShape, values: Array(pool.values[(b * size * per)..<((b + 1) * size * per)]))
            }
            var next = 0
            var imagesRun = 0, opsRun = 0.0
            // One round: `requests` calls at once, each on the next batch.
            let runRound: () throws -> Void = {
                let first = next
                next += requests
                opsRun += try concurrently(requests) { request in
                    let images = batches[(first + request) % batches.count]
                    if let thresholds { return try model.classify(images, thresholds: thresholds).reduce(0) { $0 + $1.operations } }
                    _ = try model.logits(for: images)
                    return model.operationCount.opsPerExit.last! * Double(size)
                }.reduce(0, +)
                imagesRun += size * requests
            }
            try runRound()  // warm-up: contexts, caches, page faults
            (imagesRun, opsRun) = (0, 0)
            let warmedUp = peakResidentMegabytes()
            var times: [Double] = []
            let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
            while batchCount.map({ times.count < $0 }) ?? (times.count < 5 || DispatchTime.now().uptimeNanoseconds < deadline) {
                let start = DispatchTime.now().uptimeNanoseconds
                try runRound()
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            times.sort()
            let median = times[times.count / 2]
            let realizedOps = opsRun / Double(imagesRun)
            // Images per round: each request's batch.
            let perRound = Double(size * requests), rate = perRound * 1000 / median
            let threadsUsed = requests * model.threadsUsed(batch: size)
            var row: [String: JSONValue] = [
                "mode": .string(mode.rawValue), "batch": .number(Double(size)), "threads": .number(Double(threadCount)),
                "requests": .number(Double(requests)), "threads_used": .number(Double(threadsUsed)),
                "lanes": .number(Double(model.options.lanes)), "single_image": .string(engine.singleImages.rawValue),
                "precision": .string(model.options.precision.rawValue),
                "images_per_s": .number(rate), "ms_per_batch": .number(median),
                "ms_per_batch_min": .number(times.first!), "ms_per_batch_max": .number(times.last!),
                "images_per_s_min": .number(perRound * 1000 / times.last!), "images_per_s_max": .number(perRound * 1000 / times.first!),
                "repeats": .number(Double(times.count)), "realized_ops_per_image": .number(realizedOps),
                "gflop_per_s": .number(2 * realizedOps * rate / 1e9), "peak_rss_mb": .number(peakResidentMegabytes()),
                "peak_rss_mb_after_warmup": .number(warmedUp),
            ]
            if json {
                // What ran the images alone: which backend each layer got, and the times it was chosen by.
                if size < model.options.lanes || model.options.lanes == 1 {
                    let plan = try model.singleImagePlan(threads: size == 1 ? nil : 1)
                    var summary: [String: JSONValue] = [
                        "source": .string(plan.source.rawValue), "threads": .number(Double(plan.threads)),
                        "rows_layers": .number(Double(plan.count(.rows))), "onednn_layers": .number(Double(plan.count(.oneDNN))),
                        "onednn": .array(plan.layers.filter { $0.backend == .oneDNN }.map { .string($0.name) }),
                        "onednn_f32_layers": .number(Double(plan.count(.oneDNNF32))),
                        "onednn_f32": .array(plan.layers.filter { $0.backend == .oneDNNF32 }.map { .string($0.name) }),
                    ]
                    if let reorders = plan.reorders { summary["reorders"] = .number(Double(reorders)) }
                    row["single_image_plan"] = .object(summary)
                }
                print(JSONValue.object(row).description)
            } else {
                let used = threadsUsed == threadCount ? "" : " (\(threadsUsed) used)"
                let inFlight = requests == 1 ? "" : ", \(requests) requests × \(threadsPerRequest) thread\(threadsPerRequest == 1 ? "" : "s")"
                print(String(format: "%@ %@ batch %3d%@, %d threads%@: %8.1f images/s (%.1f–%.1f), %8.2f ms/batch, %.2fM ops/image, %.1f GFLOP/s, peak %.0f MB (%.0f MB after warm-up), %d %@",
                             mode.rawValue, model.options.precision.rawValue, size, inFlight, threadCount, used, rate, perRound * 1000 / times.last!, perRound * 1000 / times.first!,
                             median, realizedOps / 1e6, 2 * realizedOps * rate / 1e9, peakResidentMegabytes(), warmedUp, times.count,
                             requests == 1 ? "batches" : "rounds"))
            }
            fflush(stdout)
        }
    }

    /// Times `TrainableModel.step` per batch size after one warm-up step.
    private func runTraining(threads: Int) throws {
        let contents: ModelFile.Contents
        // A preset, or a config without a model: the authors' initialization, as training starts.
        if let config = try preset.map({ try RANetConfig.preset(named: $0) }) ?? (source.model == nil ? source.explicitConfig() : nil) {
            contents = ModelFile.Contents(config: config, stateDict: .random(for: try NetworkDescription(config: config)))
        } else {
            contents = try source.read()
        }
        let model = try TrainableModel(config: contents.config, stateDict: contents.stateDict, threads: threads,
                                       convolutions: convolutions)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        for size in batchSizes {
            let images = (0..<(size * model.imageFloats)).map { _ in Float(Int(next() % 2000)) / 1000 - 1 }
            let labels = (0..<size).map { _ in Int(next() % UInt64(contents.config.numClasses)) }
            // A small learning rate keeps random weights finite over many steps.
            _ = try model.step(images: images, targets: labels, learningRate: 1e-4)
            var times: [Double] = [], split = (forward: 0.0, backward: 0.0, update: 0.0)
            let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
            while batchCount.map({ times.count < $0 }) ?? (times.count < 5 || DispatchTime.now().uptimeNanoseconds < deadline) {
                let start = DispatchTime.now().uptimeNanoseconds
                let result = try model.step(images: images, targets: labels, learningRate: 1e-4)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                split.forward += result.seconds.forward
                split.backward += result.seconds.backward
                split.update += result.seconds.update
            }
            let total = split.forward + split.backward + split.update
            times.sort()
            let median = times[times.count / 2], rate = Double(size) * 1000 / median
            let byBackend = model.convolutionsByBackend ?? (0, 0)
            let row: [String: JSONValue] = [
                "mode": .string("train"), "batch": .number(Double(size)), "threads": .number(Double(threads)),
                "images_per_s": .number(rate), "ms_per_step": .number(median), "ms_per_step_min": .number(times.first!),
                "ms_per_step_max": .number(times.last!), "repeats": .number(Double(times.count)),
                "forward_share": .number(split.forward / total), "backward_share": .number(split.backward / total),
                "update_share": .number(split.update / total), "peak_rss_mb": .number(peakResidentMegabytes()),
                "graph_mb": .number(Double(model.graphBytes) / 1_048_576),
                "convolutions_on_rows": .number(Double(byBackend.rows)),
                "convolutions_on_onednn": .number(Double(byBackend.oneDNN)),
                "onednn_vector_bits": .number(Double(TrainableModel.oneDNNVectorBits)),
            ]
            if json {
                print(JSONValue.object(row).description)
            } else {
                print(String(format: "train batch %3d, %d threads: %8.1f images/s (%.1f–%.1f), %8.2f ms/step (forward %.0f%%, backward %.0f%%, update %.0f%%), peak %.0f MB (training graph %.0f MB), %d steps; convolutions: %d on the row kernels, %d on oneDNN",
                             size, threads, rate, Double(size) * 1000 / times.last!, Double(size) * 1000 / times.first!, median,
                             100 * split.forward / total, 100 * split.backward / total, 100 * split.update / total,
                             peakResidentMegabytes(), Double(model.graphBytes) / 1_048_576, times.count,
                             byBackend.rows, byBackend.oneDNN))
            }
            fflush(stdout)
        }
    }

    /// `count` images: the first records of --data (as many as it has, at most `count`), or random ones.
    private func inputs(for model: RANetModel, count: Int) throws -> Tensor {
        let per = model.imageShape.reduce(1, *)
        guard let data else {
            var state: UInt64 = 0x9E37_79B9_7F4A_7C15
            return try Tensor(shape: [count] + model.imageShape, values: (0..<(count * per)).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return Float(Int64(bitPattern: state >> 1) % 2000) / 1000 - 1
            })
        }
        let set = try LabeledData.open(URL(fileURLWithPath: data), indices: indices.map { URL(fileURLWithPath: $0) })
        var values: [Float] = []
        try set.forEachInputBatch(for: model, size: min(count, set.count), limit: count) { images, _ in
            values += images.values
        }
        while values.count < batchSizes.max()! * per { values += values.prefix(batchSizes.max()! * per - values.count) }
        return try Tensor(shape: [values.count / per] + model.imageShape, values: values)
    }

    private func peakResidentMegabytes() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}

/// What `call(i)` returns for every i below `count`, the calls run at once when there
/// are several (`count` is at most the cores); rethrows the first error.
private func concurrently(_ count: Int, _ call: (Int) throws -> Double) throws -> [Double] {
    if count == 1 { return [try call(0)] }
    var results = [Double](repeating: 0, count: count), failure: Error?
    let lock = NSLock()
    results.withUnsafeMutableBufferPointer { results in
        DispatchQueue.concurrentPerform(iterations: count) { i in
            do {
                results[i] = try call(i)
            } catch {
                lock.withLock { failure = failure ?? error }
            }
        }
    }
    if let failure { throw failure }
    return results
}
