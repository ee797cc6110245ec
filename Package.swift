// swift-tools-version:6.0
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
