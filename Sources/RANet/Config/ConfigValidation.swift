import Foundation

extension RANetConfig {
    /// Limits that keep a config from asking for absurd amounts of memory or time.
    public enum Limits {
        /// Flows (entries of `scale_list`).
        public static let maxFlows = 8
        /// Channels of any layer.
        public static let maxChannels = 4096
        /// Layers in one block.
        public static let maxLayersPerBlock = 256
        /// Blocks in one flow.
        public static let maxBlocks = 64
        /// Input height and width in pixels.
        public static let maxInputSize = 2048
    }

    /// Checks everything the authors' code needs of a config, plus sane limits.
    ///
    /// Sizes that depend on the whole graph (exits that do not end on a 1×1 map) are
    /// checked when the ``NetworkDescription`` is built; both run before any allocation.
    public func validate() throws {
        let flows = flowCount
        guard flows >= 1 else { throw ConfigError(field: "scale_list", "needs at least one entry") }
        guard flows <= Limits.maxFlows else {
            throw ConfigError(field: "scale_list", "\(flows) flows; at most \(Limits.maxFlows) are supported")
        }
        for (name, list) in [("grFactor", grFactor), ("bnFactor", bnFactor)] where list.count != flows {
            throw ConfigError(field: name, "has \(list.count) entries but scale_list has \(flows)")
        }
        try requireRange("nChannels", nChannels, 1...Limits.maxChannels)
        try requireRange("growthRate", growthRate, 1...Limits.maxChannels)
        try requireRange("step", step, 1...Limits.maxLayersPerBlock)
        try requireRange("nBlocks", nBlocks, 1...Limits.maxBlocks)
        try requireRange("block_step", blockStep, 0...Limits.maxBlocks)
        try requireRange("input_size", inputSize, 1...Limits.maxInputSize)
        for (name, list) in [("scale_list", scaleList), ("grFactor", grFactor), ("bnFactor", bnFactor)] {
            for value in list { try requireRange(name, value, 1...64) }
        }
        if flows > 1 && scaleList[1] == scaleList[0] {
            throw ConfigError(field: "scale_list", "repeats its first entry (\(scaleList[0])); the authors' network cannot take that")
        }
        for i in 1..<flows where scaleList[i] < scaleList[i - 1] {
            throw ConfigError(field: "scale_list", "must be non-decreasing, but \(scaleList[i]) follows \(scaleList[i - 1])")
        }
        guard compressFactor > 0, compressFactor < 1 else {
            throw ConfigError(field: "compress_factor", "must be between 0 and 1, got \(compressFactor)")
        }
        guard reduction > 0, reduction <= 1 else {
            throw ConfigError(field: "reduction", "must be in (0, 1], got \(reduction)")
        }
        let blocks = blocksPerFlow
        guard blocks.last! <= Limits.maxBlocks else {
            throw ConfigError(field: "block_step", "the last flow would have \(blocks.last!) blocks; at most \(Limits.maxBlocks)")
        }
        guard layers(atBlock: blocks.last!) <= Limits.maxLayersPerBlock else {
            throw ConfigError(field: "step", "a block would have \(layers(atBlock: blocks.last!)) layers; at most \(Limits.maxLayersPerBlock)")
        }
        for f in 1..<max(flows, 1) {
            // Flow f's first B[f] blocks are fusion blocks; the authors' code crashes on 1 layer.
            for n in 1...min(blocks[f - 1], blocks[f]) where layers(atBlock: n) < 2 {
                throw ConfigError(field: "step", "fusion block \(n) of flow \(f) would have \(layers(atBlock: n)) layer; fusion blocks need at least 2")
            }
            let growth = growthRate * grFactor[f]
            let up = Int((Double(growth) * compressFactor).rounded(.down))
            if up == 0 || growth - up == 0 {
                throw ConfigError(field: "compress_factor", "\(compressFactor) splits flow \(f)'s growth \(growth) into \(up) + \(growth - up) channels; both parts need at least 1")
            }
        }
        for f in 0..<flows where nChannels * grFactor[f] > Limits.maxChannels {
            throw ConfigError(field: "grFactor", "flow \(f) would start with \(nChannels * grFactor[f]) channels; at most \(Limits.maxChannels)")
        }
    }

    private func requireRange(_ field: String, _ value: Int, _ range: ClosedRange<Int>) throws {
        guard range.contains(value) else {
            throw ConfigError(field: field, "must be in \(range.lowerBound)...\(range.upperBound), got \(value)")
        }
    }
}
