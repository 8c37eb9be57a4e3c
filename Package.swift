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
        .library(name: "PruneNN", targets: ["PruneNN"]),
        .library(name: "PruneKit", targets: ["PruneKit"]),
        .library(name: "PruneMPI", targets: ["PruneMPI"]),
        .library(name: "PruneTorchCheckpoint", targets: ["PruneTorchCheckpoint"]),
        .library(name: "PruneSDXL", targets: ["PruneSDXL"]),
        .library(name: "PruneFlux", targets: ["PruneFlux"]),
        .library(name: "PruneDemo", targets: ["PruneDemo"]),
        .library(name: "PruneTextEncoders", targets: ["PruneTextEncoders"]),
        .library(name: "PruneTokenizers", targets: ["PruneTokenizers"]),
        .library(name: "PruneVAE", targets: ["PruneVAE"]),

        .library(name: "PrunePipelines", targets: ["PrunePipelines"]),
        .executable(name: "prunekit", targets: ["prunekit"]),
        .executable(name: "prunekit-bench", targets: ["PruneBenchmarks"]),
        .executable(name: "text-encoder-memory", targets: ["TextEncoderMemory"]),
        .executable(name: "denoiser-memory", targets: ["DenoiserMemory"]),
        // dlopen plugins (C ABI only; see Plugins/README.md): libGradientFlow.so, libFPGM.so, libDiT.so.
        .library(name: "GradientFlow", type: .dynamic, targets: ["GradientFlow"]),
        .library(name: "FPGM", type: .dynamic, targets: ["FPGM"]),
        .library(name: "DiT", type: .dynamic, targets: ["DiT"]),
        // Example plugins (Examples/CriterionPlugin, Examples/ArchitecturePlugin): libExampleCriterion.so, libExampleArchitecture.so.
        .library(name: "ExampleCriterion", type: .dynamic, targets: ["ExampleCriterion"]),
        .library(name: "ExampleArchitecture", type: .dynamic, targets: ["ExampleArchitecture"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries (Debian: libopenblas-dev, libffi-dev).
        .systemLibrary(
            name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CFFI", path: "Sources/CFFI", pkgConfig: "libffi",
            providers: [.apt(["libffi-dev"])]),
        .systemLibrary(
            name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]),
        .systemLibrary(
            name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev"])]),

        // The tensor engine: storage, layout, ops, reverse-mode autodiff, thread pool, safetensors I/O.
        .target(name: "PruneTensor", dependencies: ["CBLAS"], swiftSettings: swiftSettings),

        // Layers named by checkpoint key, the parameter store, masks.
        .target(name: "PruneNN", dependencies: ["PruneTensor"], swiftSettings: swiftSettings),

        // Text → token ids: CLIP byte-level BPE and T5 Unigram, exactly as diffusers' SDXL/FLUX pipelines tokenize
        // (no tensors, no dependencies). The real CLIP merges ship uncompressed as a resource (open_clip, MIT).
        .target(
            name: "PruneTokenizers",
            resources: [.copy("Resources/clip-merges.txt"), .copy("Resources/open_clip-LICENSE.txt")],
            swiftSettings: swiftSettings),

        // A restricted reader of torch.save files (zip and legacy): tensors only, no code run, no Python.
        .target(name: "PruneTorchCheckpoint", swiftSettings: swiftSettings),

        // The pruning core: schedulers, units and masks, criteria, objective, plan, surgery, export.
        .target(name: "PruneKit", dependencies: ["PruneNN", "PruneTensor", "PruneTorchCheckpoint"], swiftSettings: swiftSettings),

        // Data-parallel pruning over MPI (Debian: libopenmpi-dev): PruneKit's ProcessGroup on MPI_COMM_WORLD.
        .target(name: "PruneMPI", dependencies: ["CMPI", "PruneKit"], swiftSettings: swiftSettings),

        // Architecture adapters.
        .target(name: "PruneSDXL", dependencies: ["PruneKit", "PruneNN", "PruneTensor"], swiftSettings: swiftSettings),
        .target(name: "PruneFlux", dependencies: ["PruneKit", "PruneNN", "PruneTensor"], swiftSettings: swiftSettings),

        // Text encoders of the SDXL and FLUX pipelines (CLIP text, OpenCLIP bigG, T5 v1.1), forward only, weights kept
        // in their stored 16-bit form and widened per layer.
        .target(name: "PruneTextEncoders", dependencies: ["PruneNN", "PruneTensor"], swiftSettings: swiftSettings),

        // The SDXL/FLUX VAE (diffusers' AutoencoderKL): encoder, decoder, tiled decoding, the pipelines' latent
        // scaling and 8-bit image postprocessing; forward only, always float32.
        .target(name: "PruneVAE", dependencies: ["PruneNN", "PruneTensor"], swiftSettings: swiftSettings),

        // Whole pipelines as users hold them: diffusers pipeline folders (model_index.json, components, weight
        // variants), SDXL single-file checkpoints (key rules as data, configurations derived from shapes), and
        // prompt → conditioning through the pipelines' own tokenizers and text encoders (SDXL, FLUX).
        .target(
            name: "PrunePipelines",
            dependencies: ["PruneTokenizers", "PruneTextEncoders", "PruneSDXL", "PruneFlux", "PruneKit", "PruneNN", "PruneTensor"],
            swiftSettings: swiftSettings),

        // The embedded demo models: a procedural shapes dataset, tokenizer and text encoder, training, the
        // analytic adherence checker, image metrics, PNG output (libpng).
        .target(
            name: "PruneDemo", dependencies: ["PruneSDXL", "PruneFlux", "PruneKit", "PruneNN", "PruneTensor", "CPNG"],
            swiftSettings: swiftSettings),

        // The command-line tool.
        .executableTarget(
            name: "prunekit",
            dependencies: [
                "PruneSDXL", "PruneFlux", "PruneKit", "PruneNN", "PruneTensor", "PrunePluginHost", "PruneDemo", "PrunePipelines", "PruneVAE",
                "PruneMPI", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings),

        // Engine benchmarks: matmul, conv2d, attention and element-wise throughput against raw sgemm.
        .executableTarget(
            name: "PruneBenchmarks", dependencies: ["PruneSDXL", "PruneFlux", "PruneNN", "PruneTensor", "PruneKit", "PruneMPI", "CBLAS"],
            swiftSettings: swiftSettings),

        // Writes a real-size text encoder with seeded random 16-bit weights and runs one forward, for peak-RSS
        // measurements (`/usr/bin/time -v`; see docs/decisions.md).
        .executableTarget(name: "TextEncoderMemory", dependencies: ["PruneTextEncoders", "PruneTensor"], swiftSettings: swiftSettings),
        // The same for the denoisers (SDXL base U-Net, FLUX transformer): 16-bit weights resident against float32 widening.
        .executableTarget(name: "DenoiserMemory", dependencies: ["PruneSDXL", "PruneFlux", "PruneNN", "PruneTensor"], swiftSettings: swiftSettings),

        // Examples (each folder has a README): `swift run prune-from-code`, `swap-criteria`, `prune-real-checkpoint`.
        .executableTarget(
            name: "prune-from-code", dependencies: ["PruneKit", "PruneSDXL", "PruneFlux"], path: "Examples/PruneFromCode",
            exclude: ["README.md"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "swap-criteria", dependencies: ["PruneKit", "PruneNN", "PruneSDXL", "PruneTensor"], path: "Examples/SwapCriteria",
            exclude: ["README.md"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "prune-real-checkpoint", dependencies: ["PruneKit", "PruneNN", "PruneSDXL", "PruneFlux", "PruneTensor"],
            path: "Examples/PruneRealCheckpoint", exclude: ["README.md"], swiftSettings: swiftSettings),

        // Plugins: the C ABI (one header), the host that dlopens plugins, the wrapper plugin authors compile in
        // (it depends on the header only, never on the host's Swift modules), and the three reference plugins.
        .target(name: "CPrunePlugin", path: "Sources/CPrunePlugin"),
        .target(
            name: "PrunePluginHost", dependencies: ["PruneKit", "PruneNN", "PruneTensor", "CFFI", "CPrunePlugin"],
            swiftSettings: swiftSettings),
        .target(name: "PrunePluginKit", dependencies: ["CPrunePlugin"], swiftSettings: swiftSettings),
        .target(name: "GradientFlow", dependencies: ["PrunePluginKit"], path: "Plugins/GradientFlow", swiftSettings: swiftSettings),
        .target(name: "FPGM", dependencies: ["CPrunePlugin"], path: "Plugins/FPGM", linkerSettings: [.linkedLibrary("m")]),
        .target(name: "DiT", dependencies: ["PrunePluginKit"], path: "Plugins/DiT", swiftSettings: swiftSettings),
        .target(
            name: "ExampleCriterion", dependencies: ["PrunePluginKit"], path: "Examples/CriterionPlugin", exclude: ["README.md"],
            swiftSettings: swiftSettings),
        .target(
            name: "ExampleArchitecture", dependencies: ["PrunePluginKit"], path: "Examples/ArchitecturePlugin", exclude: ["README.md"],
            swiftSettings: swiftSettings),

        // Fixture lookup and numeric comparison helpers shared by the test targets.
        .target(name: "PruneTestSupport", dependencies: ["PruneTensor"], path: "Tests/PruneTestSupport", swiftSettings: swiftSettings),
        // Toy-width demo models shared by the demo and CLI tests.
        .target(
            name: "PruneDemoTestSupport", dependencies: ["PruneDemo", "PruneSDXL", "PruneFlux"], path: "Tests/PruneDemoTestSupport",
            swiftSettings: swiftSettings),

        .testTarget(name: "PruneTensorTests", dependencies: ["PruneTensor", "PruneTestSupport"], swiftSettings: swiftSettings),
        // The restricted torch.save reader and the EcoDiff λ import built on it.
        .testTarget(
            name: "PruneTorchCheckpointTests",
            dependencies: ["PruneTorchCheckpoint", "PruneKit", "PruneSDXL", "PruneNN", "PruneTensor", "PruneTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(name: "PruneTokenizersTests", dependencies: ["PruneTokenizers", "PruneTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "PruneNNTests", dependencies: ["PruneTestSupport", "PruneNN", "PruneTensor"], swiftSettings: swiftSettings),
        .testTarget(name: "PruneKitTests", dependencies: ["PruneTestSupport", "PruneKit", "PruneSDXL", "PruneFlux", "PruneNN", "PruneTensor"], swiftSettings: swiftSettings),
        .testTarget(
            name: "PruneSDXLTests", dependencies: ["PruneTestSupport", "PruneSDXL", "PruneKit", "PruneNN", "PruneTensor"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "PruneKitCLITests", dependencies: ["prunekit", "PruneTestSupport", "PruneDemoTestSupport", "PruneKit", "PruneSDXL", "PruneFlux", "PruneDemo", "PruneNN", "PruneTensor"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "PruneFluxTests", dependencies: ["PruneTestSupport", "PruneFlux", "PruneKit", "PruneNN", "PruneTensor"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "PruneTextEncodersTests", dependencies: ["PruneTextEncoders", "PruneTestSupport", "PruneNN", "PruneTensor"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "PrunePipelinesTests", dependencies: ["PrunePipelines", "PruneTokenizers", "PruneTestSupport", "PruneSDXL", "PruneFlux", "PruneKit", "PruneNN", "PruneTensor"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "PruneVAETests", dependencies: ["PruneVAE", "PruneTestSupport", "PruneNN", "PruneTensor"],
            swiftSettings: swiftSettings),
        // The VAE loaded through PrunePipelines (pipeline folders, SDXL single files).
        .testTarget(
            name: "PruneVAEPipelineTests", dependencies: ["PruneVAE", "PrunePipelines", "PruneTestSupport", "PruneNN", "PruneTensor"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "PruneDemoTests", dependencies: ["PruneDemo", "PruneDemoTestSupport", "PruneSDXL", "PruneFlux", "PruneKit", "PruneNN", "PruneTensor", "CPNG"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "PrunePluginTests",
            dependencies: ["PrunePluginHost", "prunekit", "PruneTestSupport", "PruneKit", "PruneNN", "PruneTensor", "CPrunePlugin"],
            exclude: ["BrokenPlugins"], swiftSettings: swiftSettings),
    ]
)
