extension RANetConfig {
    /// The paper's configurations by name (the CIFAR models C-1, C-2, C-3, a CIFAR-100
    /// variant, the authors' README `lg` model, ImageNet models 1 and 2).
    public static let presets: [String: RANetConfig] = [
        "cifar-c1": cifar(scales: [1, 2, 3], factors: [4, 2, 1]),
        "cifar-c2": cifar(scales: [1, 2, 2, 3], factors: [4, 2, 2, 1]),
        "cifar-c3": cifar(scales: [1, 2, 3, 3], factors: [4, 2, 1, 1]),
        "cifar100-c3": cifar(scales: [1, 2, 3, 3], factors: [4, 2, 1, 1], data: .cifar100),
        "cifar-lg": cifar(scales: [1, 2, 3], factors: [4, 2, 1], step: 2, mode: .lg),
        "imagenet-1": imagenet(nChannels: 32),
        "imagenet-2": imagenet(nChannels: 64),
    ]

    /// Preset names in a stable order, for help texts.
    public static var presetNames: [String] { presets.keys.sorted() }

    /// The preset called `name`, or an error listing the known ones.
    public static func preset(named name: String) throws -> RANetConfig {
        guard let config = presets[name] else {
            throw ConfigError(field: "preset", "unknown preset '\(name)' (known: \(presetNames.joined(separator: ", ")))")
        }
        return config
    }

    private static func cifar(scales: [Int], factors: [Int], data: DataKind = .cifar10,
                              step: Int = 4, mode: StepMode = .even) -> RANetConfig {
        RANetConfig(data: data, nChannels: 16, growthRate: 6, step: step, stepMode: mode,
                    scaleList: scales, grFactor: factors, bnFactor: factors)
    }

    private static func imagenet(nChannels: Int) -> RANetConfig {
        RANetConfig(data: .imagenet, nChannels: nChannels, growthRate: 16, step: 8, stepMode: .even,
                    scaleList: [1, 2, 3, 4], grFactor: [4, 2, 2, 1], bnFactor: [4, 2, 2, 1])
    }
}
