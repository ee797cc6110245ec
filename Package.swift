// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "RANet",
    products: [
        .library(name: "RANet", targets: ["RANet"]),
        .executable(name: "ranet", targets: ["ranet"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `make docs`: the RANet library's DocC catalog (Sources/RANet/RANet.docc).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        // `ranet serve`: the HTTP server (without its swift-configuration trait) and its /metrics.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // The C bridge: oneDNN primitives and the SIMD kernels oneDNN lacks.
        .target(
            name: "CRANet",
            linkerSettings: [.linkedLibrary("dnnl"), .linkedLibrary("dl")]
        ),
        // Image decoding through libjpeg-turbo, libpng, libwebp, libtiff and libheif, and
        // decoders of its own for BMP and PBM/PGM/PPM.
        .target(name: "CImageCodecs", linkerSettings: [
            .linkedLibrary("jpeg"), .linkedLibrary("png16"), .linkedLibrary("webp"), .linkedLibrary("webpdemux"),
            .linkedLibrary("tiff"), .linkedLibrary("heif"), .linkedLibrary("m"),
        ]),
        // zlib, for gzip-compressed data sets.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .target(name: "RANet", dependencies: ["CRANet", "CZlib", "CImageCodecs"], resources: [.copy("Resources/fashion-mnist.safetensors")]),
        .executableTarget(
            name: "ranet",
            dependencies: [
                "RANet",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "RANetTests",
            dependencies: ["RANet"],
            resources: [.copy("Fixtures")]
        ),
    ],
    swiftLanguageModes: [.v5]
)
