import Foundation

/// The architecture of a RANet, in the authors' argument names (`args.txt`).
///
/// A config is only a description; ``validate()`` checks that the authors' code could
/// build it (and that it stays within sane limits) before anything is allocated.
public struct RANetConfig: Sendable, Equatable {
    /// The data set kind. It selects the stem, the classifier head and the class count.
    public enum DataKind: String, Sendable, CaseIterable {
        /// CIFAR-10: 32×32 images, 10 classes.
        case cifar10
        /// CIFAR-100: 32×32 images, 100 classes.
        case cifar100
        /// ImageNet: 224×224 images, 1000 classes, and a 7×7 stem.
        case imagenet = "ImageNet"

        /// Number of classes of the classifier heads.
        public var numClasses: Int {
            switch self {
            case .cifar10: 10
            case .cifar100: 100
            case .imagenet: 1000
            }
        }

        /// The input size the authors train at.
        public var defaultInputSize: Int { self == .imagenet ? 224 : 32 }
    }

    /// How many layers the blocks have.
    public enum StepMode: String, Sendable, CaseIterable {
        /// Every block has `step` layers.
        case even
        /// Block n (1-based position in its flow) has `n * step` layers.
        case lg
    }

    /// The data set the network is built for (`--data`).
    public var data: DataKind
    /// Base channel count; flow f starts with `nChannels * grFactor[f]`.
    public var nChannels: Int
    /// Base growth rate; flow f grows by `growthRate * grFactor[f]` per layer.
    public var growthRate: Int
    /// Layers per block (see ``stepMode``).
    public var step: Int
    /// How the number of layers grows from block to block (`--stepmode`).
    public var stepMode: StepMode
    /// One entry per flow (sub-network), lowest resolution first.
    public var scaleList: [Int]
    /// Per flow: channel and growth multiplier.
    public var grFactor: [Int]
    /// Per flow: bottleneck width factor.
    public var bnFactor: [Int]
    /// Blocks of flow 0; flow f has `blockStep * f + nBlocks` blocks.
    public var nBlocks: Int
    /// Blocks of a later flow that start together (`--block-step`).
    public var blockStep: Int
    /// Share of a fusion layer's growth that comes from the lower-resolution flow.
    public var compressFactor: Double
    /// A transition keeps `floor(reduction * C)` channels.
    public var reduction: Double
    /// Height and width of the (square) input image.
    public var inputSize: Int

    /// Creates a config; `inputSize` defaults to the data kind's training size.
    public init(data: DataKind, nChannels: Int, growthRate: Int, step: Int, stepMode: StepMode,
                scaleList: [Int], grFactor: [Int], bnFactor: [Int], nBlocks: Int = 2,
                blockStep: Int = 2, compressFactor: Double = 0.25, reduction: Double = 0.5,
                inputSize: Int? = nil) {
        self.data = data
        self.nChannels = nChannels
        self.growthRate = growthRate
        self.step = step
        self.stepMode = stepMode
        self.scaleList = scaleList
        self.grFactor = grFactor
        self.bnFactor = bnFactor
        self.nBlocks = nBlocks
        self.blockStep = blockStep
        self.compressFactor = compressFactor
        self.reduction = reduction
        self.inputSize = inputSize ?? data.defaultInputSize
    }

    /// Number of flows (`nScales` in the authors' code).
    public var flowCount: Int { scaleList.count }
    /// Number of classes of every exit.
    public var numClasses: Int { data.numClasses }

    /// Blocks of each flow, `B[f+1]` of the spec (index f = flow).
    public var blocksPerFlow: [Int] { (0..<flowCount).map { blockStep * $0 + nBlocks } }

    /// Number of exits: one per normal block, i.e. the block count of the last flow.
    public var exitCount: Int { blocksPerFlow.last ?? 0 }

    /// Layers of the block at 1-based position `n`.
    public func layers(atBlock n: Int) -> Int { stepMode == .even ? step : n * step }
}

/// A config the network cannot have; the message names the field.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    /// The authors' name of the offending field.
    public let field: String
    /// What is wrong with it.
    public let message: String

    /// An error about `field`.
    public init(field: String, _ message: String) {
        self.field = field
        self.message = message
    }

    /// `invalid config: field: message`.
    public var description: String { "invalid config: \(field): \(message)" }
}
