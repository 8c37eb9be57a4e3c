// swift-tools-version: 6.1
// PruneKit: structural pruning of text-to-image diffusion models (SDXL U-Net, FLUX DiT) on the CPU.
import PackageDescription

/// Settings shared by every Swift target.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "PruneKit",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "PruneTensor", targets: ["PruneTensor"]),
        .executable(name: "prunekit-bench", targets: ["PruneBenchmarks"]),
    ],
    targets: [
        // System libraries (Debian: libopenblas-dev, libffi-dev).
        .systemLibrary(
            name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CFFI", path: "Sources/CFFI", pkgConfig: "libffi",
            providers: [.apt(["libffi-dev"])]),

        // The tensor engine: storage, layout, ops, reverse-mode autodiff, thread pool, safetensors I/O.
        .target(name: "PruneTensor", dependencies: ["CBLAS"], swiftSettings: swiftSettings),

        // Engine benchmarks: matmul, conv2d, attention and element-wise throughput against raw sgemm.
        .executableTarget(
            name: "PruneBenchmarks", dependencies: ["PruneTensor", "CBLAS"],
            swiftSettings: swiftSettings),

        .testTarget(
            name: "PruneTensorTests", dependencies: ["PruneTensor"],
            swiftSettings: swiftSettings),
    ]
)
