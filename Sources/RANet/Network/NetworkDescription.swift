/// One image's tensor: a feature map whose channel ranges layers write.
///
/// Dense states of a block are channel prefixes of one tensor, so a dense layer's
/// concatenation is just "write the new channels after the old ones".
public struct TensorSpec: Sendable, Equatable {
    /// What a tensor holds: the input image, a feature map, or the exits' logits.
    public enum Role: Sendable {
        /// The input image.
        case input
        /// A feature map.
        case activation
        /// Every exit's logits.
        case logits
    }
    /// Channels of the whole tensor (the sum of the slices layers write into it).
    public var channels: Int
    /// Height in pixels.
    public let height: Int
    /// Width in pixels.
    public let width: Int
    /// What the tensor holds.
    public let role: Role

    /// Floats per image.
    public var elementCount: Int { channels * height * width }
}

/// Channels `[offset, offset + channels)` of tensor number `tensor`.
public struct TensorSlice: Sendable, Equatable {
    /// Index into ``NetworkDescription/tensors``.
    public let tensor: Int
    /// First channel of the slice.
    public let offset: Int
    /// Channels in the slice.
    public let channels: Int
}

/// A convolution followed by batch norm and ReLU (`ConvBasic` or half a `ConvBN`).
public struct ConvUnit: Sendable, Equatable {
    /// state_dict path of the convolution, e.g. `scale_flows.0.0.layers.0.conv_normal.net.0`.
    public let convKey: String
    /// state_dict path of the batch norm that follows it.
    public let bnKey: String
    /// Only the ImageNet stem convolution has a bias.
    public let hasBias: Bool
    /// Kernel height and width.
    public let kernel: Int
    /// Stride in both directions.
    public let stride: Int
    /// Zeros added on each side.
    public let padding: Int
}

/// What a layer computes.
public enum LayerOperation: Sendable, Equatable {
    /// A convolution with its batch norm and ReLU.
    case conv(ConvUnit)
    /// Bilinear resize with align_corners=True to the output's size.
    case resize
    /// Max pooling (the ImageNet stem's).
    case maxPool(kernel: Int, stride: Int, padding: Int)
    /// Average pooling over `kernel`×`kernel` windows with that stride (an exit head's last step).
    case avgPool(kernel: Int)
    /// The classifier of exit `exit`, reading a 1×1 map.
    case linear(key: String, exit: Int)
}

/// One step of the forward pass, in execution order.
public struct Layer: Sendable, Equatable {
    /// What the layer computes.
    public let operation: LayerOperation
    /// The channels it reads.
    public let input: TensorSlice
    /// The channels it writes.
    public let output: TensorSlice
}

/// An exit's place in the network: after normal block `block` (1-based) of flow `flow`,
/// whose output has `channels` channels.
public struct ExitLocation: Sendable, Equatable {
    /// The flow (0-based).
    public let flow: Int
    /// The normal block after which the exit sits (1-based).
    public let block: Int
    /// Channels of that block's output, which the exit's head reads.
    public let channels: Int
}

/// A parameter or buffer the network expects in a state_dict.
public struct ParameterSpec: Sendable, Equatable {
    /// The state_dict key.
    public let key: String
    /// The tensor's shape, as torch stores it.
    public let shape: [Int]
    /// Learned parameters count towards the parameter total; BN running statistics do not.
    public let isTrainable: Bool
    /// Elements in the tensor.
    public var elementCount: Int { shape.reduce(1, *) }
}

/// The whole network for one image: tensors, and layers in the authors' forward order,
/// named by their state_dict keys. Built from a config without touching any weights.
public struct NetworkDescription: Sendable {
    /// The config the network was built from.
    public let config: RANetConfig
    /// Every tensor of one image, in the order layers first write them.
    public let tensors: [TensorSpec]
    /// Every layer, in execution order.
    public let layers: [Layer]
    /// Tensor index of the input image and of the logits (exits × classes).
    public let inputTensor: Int
    /// The tensor that holds every exit's logits, one channel range per exit.
    public let logitsTensor: Int
    /// Spatial size of each flow's features where its first block starts (flow 0 first).
    public let flowResolutions: [(height: Int, width: Int)]
    /// Where each exit sits, in exit order.
    public let exitLocations: [ExitLocation]

    /// Builds the description; throws ``ConfigError`` for configs the network cannot have.
    public init(config: RANetConfig) throws {
        try config.validate()
        var builder = NetworkBuilder(config: config)
        try builder.build()
        self.config = config
        tensors = builder.tensors
        layers = builder.layers
        inputTensor = builder.input
        logitsTensor = builder.logits
        flowResolutions = builder.flowResolutions
        exitLocations = builder.exitLocations
    }

    /// Shape (channels, height, width) of a slice.
    public func shape(of slice: TensorSlice) -> (channels: Int, height: Int, width: Int) {
        (slice.channels, tensors[slice.tensor].height, tensors[slice.tensor].width)
    }

    /// Every state_dict entry the network has, in forward order (without `module.`).
    public var parameters: [ParameterSpec] {
        layers.flatMap { parameters(of: $0) }
    }

    /// The state_dict entries one layer reads.
    public func parameters(of layer: Layer) -> [ParameterSpec] {
        switch layer.operation {
        case .conv(let unit):
            let cin = layer.input.channels, cout = layer.output.channels
            var specs = [ParameterSpec(key: unit.convKey + ".weight", shape: [cout, cin, unit.kernel, unit.kernel], isTrainable: true)]
            if unit.hasBias { specs.append(ParameterSpec(key: unit.convKey + ".bias", shape: [cout], isTrainable: true)) }
            specs += [
                ParameterSpec(key: unit.bnKey + ".weight", shape: [cout], isTrainable: true),
                ParameterSpec(key: unit.bnKey + ".bias", shape: [cout], isTrainable: true),
                ParameterSpec(key: unit.bnKey + ".running_mean", shape: [cout], isTrainable: false),
                ParameterSpec(key: unit.bnKey + ".running_var", shape: [cout], isTrainable: false),
            ]
            return specs
        case .linear(let key, _):
            return [
                ParameterSpec(key: key + ".weight", shape: [layer.output.channels, layer.input.channels], isTrainable: true),
                ParameterSpec(key: key + ".bias", shape: [layer.output.channels], isTrainable: true),
            ]
        case .resize, .maxPool, .avgPool:
            return []
        }
    }

    /// Number of exits.
    public var exitCount: Int { config.exitCount }
}
