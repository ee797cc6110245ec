/// Everything training changes, in flat buffers: parameters, their gradients and momentum
/// buffers, and batch norm's running statistics and step counters.
///
/// One buffer per role with the same layout (an offset per state_dict key) lets the
/// optimizer run as one loop over all parameters, and hands the C layers stable pointers.
public final class TrainingState: @unchecked Sendable {
    /// The network the state belongs to.
    public let network: NetworkDescription
    /// The learned parameters in the authors' `model.parameters()` order: the order of
    /// the optimizer state's indices in their checkpoints.
    public let parameterOrder: [ParameterSpec]
    /// Every float tensor (parameters and running statistics) in the authors' state_dict order.
    public let floatOrder: [ParameterSpec]
    /// Batch norms' keys (`….net.1`), in state_dict order, for `num_batches_tracked`.
    public let batchNormKeys: [String]
    let offsets: [String: Int]
    let count: Int
    let values: UnsafeMutablePointer<Float>
    let gradients: UnsafeMutablePointer<Float>
    let momentum: UnsafeMutablePointer<Float>
    /// False until the first step: torch's first momentum buffer is the gradient itself.
    public internal(set) var hasMomentum = false
    /// `num_batches_tracked` of each batch norm.
    public internal(set) var batchesTracked: [String: Int64]

    /// The state of `network` with the weights and statistics of `stateDict`.
    /// `momentumBuffers`, by index into ``parameterOrder``, continues an optimizer.
    public init(network: NetworkDescription, stateDict: StateDict, momentumBuffers: [Int: [Float]] = [:],
                batchesTracked: [String: Int64] = [:]) throws {
        try stateDict.validate(for: network)
        self.network = network
        floatOrder = Self.registrationOrder(network.parameters)
        parameterOrder = floatOrder.filter(\.isTrainable)
        var offsets: [String: Int] = [:]
        var total = 0
        for spec in floatOrder {
            offsets[spec.key] = total
            total += spec.elementCount
        }
        self.offsets = offsets
        count = total
        let capacity = max(total, 1)
        let values = UnsafeMutablePointer<Float>.allocate(capacity: capacity)
        let momentum = UnsafeMutablePointer<Float>.allocate(capacity: capacity)
        values.initialize(repeating: 0, count: capacity)
        momentum.initialize(repeating: 0, count: capacity)
        gradients = .allocate(capacity: capacity)
        gradients.initialize(repeating: 0, count: capacity)
        for spec in floatOrder {
            stateDict.tensors[spec.key]!.values.withUnsafeBufferPointer {
                (values + offsets[spec.key]!).update(from: $0.baseAddress!, count: spec.elementCount)
            }
        }
        self.values = values
        self.momentum = momentum
        let bnKeys = floatOrder.compactMap { $0.key.hasSuffix(".running_mean") ? String($0.key.dropLast(".running_mean".count)) : nil }
        batchNormKeys = bnKeys
        var tracked: [String: Int64] = [:]
        for key in bnKeys { tracked[key] = batchesTracked[key] ?? 0 }
        self.batchesTracked = tracked
        if !momentumBuffers.isEmpty {
            for (index, buffer) in momentumBuffers {
                guard parameterOrder.indices.contains(index), buffer.count == parameterOrder[index].elementCount else {
                    throw WeightError("optimizer state \(index) does not fit the network's parameters")
                }
                buffer.withUnsafeBufferPointer { (momentum + offsets[self.parameterOrder[index].key]!).update(from: $0.baseAddress!, count: $0.count) }
            }
            guard momentumBuffers.count == parameterOrder.count else {
                throw WeightError("optimizer state has \(momentumBuffers.count) momentum buffers for \(parameterOrder.count) parameters")
            }
            hasMomentum = true
        }
    }

    deinit {
        values.deallocate()
        gradients.deallocate()
        momentum.deallocate()
    }

    /// The authors' modules register FirstLayer, scale_flows and classifier in the order
    /// scale_flows, classifier, FirstLayer; within each, parameters come in forward order.
    static func registrationOrder(_ forward: [ParameterSpec]) -> [ParameterSpec] {
        let rank = ["scale_flows": 0, "classifier": 1, "FirstLayer": 2]
        return forward.enumerated().sorted {
            let a = rank[String($0.element.key.prefix { $0 != "." }), default: 3]
            let b = rank[String($1.element.key.prefix { $0 != "." }), default: 3]
            return a != b ? a < b : $0.offset < $1.offset
        }.map(\.element)
    }

    /// Pointer to the values of `key`.
    func pointer(_ key: String) -> UnsafeMutablePointer<Float> { values + offsets[key]! }
    /// Pointer to the gradient of `key`.
    func gradient(_ key: String) -> UnsafeMutablePointer<Float> { gradients + offsets[key]! }

    /// The weights and running statistics as a state_dict (without `num_batches_tracked`).
    public var stateDict: StateDict {
        StateDict(tensors: Dictionary(uniqueKeysWithValues: floatOrder.map { spec in
            (spec.key, StoredTensor(shape: spec.shape, values: Array(UnsafeBufferPointer(start: pointer(spec.key), count: spec.elementCount))))
        }))
    }

    /// The momentum buffers by index into ``parameterOrder`` (empty before the first step).
    public var momentumBuffers: [Int: [Float]] {
        guard hasMomentum else { return [:] }
        var buffers: [Int: [Float]] = [:]
        for (index, spec) in parameterOrder.enumerated() {
            buffers[index] = Array(UnsafeBufferPointer(start: momentum + offsets[spec.key]!, count: spec.elementCount))
        }
        return buffers
    }

    /// The gradients of the last backward pass, by state_dict key.
    public var gradientsByKey: [String: [Float]] {
        Dictionary(uniqueKeysWithValues: parameterOrder.map { spec in
            (spec.key, Array(UnsafeBufferPointer(start: gradient(spec.key), count: spec.elementCount)))
        })
    }
}
