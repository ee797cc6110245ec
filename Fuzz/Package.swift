// swift-tools-version:6.0
// libFuzzer targets for every reader of untrusted files. Not part of the library: built
// by `make fuzz` with -sanitize=fuzzer,address (see the Makefile).
import PackageDescription

let package = Package(
    name: "RANetFuzz",
    dependencies: [.package(name: "RANet", path: "..")],
    targets: [
        .executableTarget(name: "ranet-fuzz", dependencies: [.product(name: "RANet", package: "RANet")]),
    ],
    swiftLanguageModes: [.v5]
)
