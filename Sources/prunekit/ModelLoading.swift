import Foundation
import PruneDemo
import PruneFlux
import PruneKit
import PruneNN
import PrunePipelines
import PruneSDXL
import PruneTensor

/// The architectures the command line knows: SDXL and FLUX built in, plus those plugins add.
enum Architectures {
    /// The shared registry with the built-in architectures registered (once per process).
    static let registry: ArchitectureRegistry = {
        let registry = ArchitectureRegistry.shared
        try? registry.registerIfAbsent(SDXLArchitecture())
        try? registry.registerIfAbsent(FluxArchitecture())
        return registry
    }()

    /// Loads the model directory with the architecture its `config.json` names; a demo model directory (one
    /// with its own text encoder) loads as a ``DemoPrunableModel``, which encodes prompts and samples with
    /// the demo schedule.
    ///
    /// `directory` may also be a diffusers pipeline folder (its `unet/` or `transformer/` is loaded) or an SDXL
    /// single-file checkpoint (its U-Net is loaded); see ``resolveModel(_:)``.
    static func loadModel(directory: String) throws -> any PrunableModel {
        switch try resolveModel(directory) {
        case .directory(let resolved):
            if DemoModelDirectory.isDemoModel(resolved) { return try DemoPrunableModel(directory: resolved) }
            return try registry.loadModel(directory: resolved)
        case .sdxlSingleFile(let path):
            let unet = try SDXLSingleFile(path: path).component("unet")
            let configuration = try JSONDecoder().decode(UNetConfiguration.self, from: try unet.configuration.jsonData())
            return try SDXLArchitecture().load(configuration: configuration, source: unet.tensors, sourceName: unet.origin)
        }
    }

    /// What a `--model` path names, once resolved to something loadable.
    enum ResolvedModel: Equatable {
        /// A model directory with its own `config.json` (a bare denoiser folder, a demo model, a pruned export,
        /// or a pipeline folder's denoiser component).
        case directory(String)
        /// An SDXL single-file checkpoint.
        case sdxlSingleFile(String)
    }

    /// The one place `--model` paths are interpreted: a pipeline folder (with `model_index.json`) resolves to
    /// its denoiser folder, a `.safetensors` file to an SDXL single file, anything else is taken as a model
    /// directory.
    /// - Throws: ``PipelineError`` for a pipeline folder whose index is bad or whose denoiser folder is missing.
    static func resolveModel(_ path: String) throws -> ResolvedModel {
        if PipelineFolder.isPipelineFolder(path) { return .directory(try PipelineFolder(path: path).denoiserDirectory) }
        if SDXLSingleFile.isSingleFile(path) { return .sdxlSingleFile(path) }
        return .directory(path)
    }

    /// Every preset name: model presets, then scheduler presets that are not also model presets.
    static var presetNames: [String] {
        let models = registry.presets.map(\.preset.name)
        return models + SchedulerPreset.allCases.map(\.rawValue).filter { !models.contains($0) }
    }

    /// The trajectory defaults `--preset NAME` selects: a model preset's, or a scheduler preset with the
    /// model's own size and guidance defaults.
    /// - Throws: `ArchitectureRegistryError.unknownPreset` listing ``presetNames``.
    static func trajectorySettings(preset name: String) throws -> TrajectorySettings {
        if let (_, preset) = try? registry.preset(named: name) { return preset.trajectory }
        if let scheduler = try? SchedulerPreset(name: name) { return TrajectorySettings(scheduler: scheduler) }
        throw ArchitectureRegistryError.unknownPreset(name: name, known: presetNames)
    }
}

/// Errors the CLI reports in one line before exiting non-zero.
enum CLIError: Error, CustomStringConvertible {
    case missingFile(path: String, purpose: String)
    case invalidFile(path: String, reason: String)
    case missingInput(path: String, name: String)
    case badOption(String)

    var description: String {
        switch self {
        case .missingFile(let path, let purpose): "\(path) not found (\(purpose))"
        case .invalidFile(let path, let reason): "\(path): \(reason)"
        case .missingInput(let path, let name): "\(path) has no tensor named \(name)"
        case .badOption(let message): message
        }
    }
}
