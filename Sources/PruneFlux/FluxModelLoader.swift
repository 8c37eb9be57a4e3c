import Foundation
import PruneNN
import PruneTensor

/// A FLUX transformer together with the store that owns its parameters.
public struct LoadedFluxModel {
    public let model: FluxTransformer2DModel
    /// The parameters by checkpoint key (for gradients, `setRequiresGradient`, export).
    public let parameters: ParameterStore

    public var configuration: FluxConfiguration { model.configuration }
    public var structure: FluxStructure { model.structure }
}

/// Where a loaded model's per-module widths come from.
public enum FluxStructureSource: Sendable, Equatable {
    /// The unpruned widths of the configuration.
    case configuration
    /// The widths the checkpoint's tensors have (see ``FluxStructure/inferred(from:configuration:)``), for
    /// pruned exports.
    case inferredFromWeights
    /// Exactly these widths.
    case explicit(FluxStructure)
}

/// Loads FLUX transformers from diffusers model directories, from Black Forest Labs' single-file
/// checkpoints, or from any ``TensorSource``.
public enum FluxModelLoader {
    /// Loads a diffusers `FluxTransformer2DModel` directory: `config.json` plus
    /// `diffusion_pytorch_model.safetensors` or the shards of `diffusion_pytorch_model.safetensors.index.json`.
    /// A pipeline directory with a `transformer/` subfolder is accepted too.
    ///
    /// - Parameters:
    ///   - directory: the model directory.
    ///   - structure: where the per-module widths come from.
    /// - Throws: ``FluxConfigurationError`` (config.json), `CheckpointFileError` (locating or opening the
    ///   weights), ``FluxStructureError``, and `CheckpointError.mismatched` listing every missing,
    ///   mis-shaped and unexpected tensor together.
    public static func load(directory: String, structure: FluxStructureSource = .configuration) throws -> LoadedFluxModel {
        let modelDirectory = resolvedModelDirectory(directory)
        let configurationPath = URL(fileURLWithPath: modelDirectory).appendingPathComponent("config.json").path
        let configuration = try FluxConfiguration.load(path: configurationPath)
        let source = try SafetensorsTensorSource(modelDirectory: modelDirectory)
        return try load(configuration: configuration, source: source, sourceName: source.name, structure: structure)
    }

    /// Loads a Black Forest Labs single-file checkpoint (`flux1-dev.safetensors` naming, optionally with the
    /// `model.diffusion_model.` prefix of all-in-one files), renaming its tensors with
    /// ``FluxKeyRules/blackForestLabs``.
    ///
    /// - Parameters:
    ///   - file: the `.safetensors` file.
    ///   - configuration: the model's hyper-parameters (the file carries none); `.fluxDev` or `.fluxSchnell`
    ///     for the released models.
    /// - Throws: as ``load(directory:structure:)``.
    public static func loadBlackForestLabs(
        file: String, configuration: FluxConfiguration, structure: FluxStructureSource = .configuration
    ) throws -> LoadedFluxModel {
        let source = try SafetensorsTensorSource(file: file)
        let renamed = RemappedTensorSource(base: source, rules: FluxKeyRules.blackForestLabs, stripPrefixes: FluxKeyRules.allInOnePrefixes)
        return try load(configuration: configuration, source: renamed, sourceName: file, structure: structure)
    }

    /// Builds the model over `source` (diffusers keys) and checks that every tensor matched.
    ///
    /// - Throws: ``FluxConfigurationError``, ``FluxStructureError``, `CheckpointError.mismatched`.
    public static func load(
        configuration: FluxConfiguration, source: any TensorSource, sourceName: String,
        structure: FluxStructureSource = .configuration
    ) throws -> LoadedFluxModel {
        try configuration.validate()
        let resolved: FluxStructure
        switch structure {
        case .configuration: resolved = FluxStructure(configuration: configuration)
        case .inferredFromWeights: resolved = try FluxStructure.inferred(from: source, configuration: configuration)
        case .explicit(let given): resolved = given
        }
        try resolved.validate(against: configuration)
        let store = ParameterStore(source: source, sourceName: sourceName)
        let model = FluxTransformer2DModel(configuration: configuration, structure: resolved, weights: store.root)
        try store.finish()
        return LoadedFluxModel(model: model, parameters: store)
    }

    /// A randomly initialised model (PyTorch-style fan-in uniform Linears, unit norms), for tests and tools.
    public static func random(configuration: FluxConfiguration, structure: FluxStructure? = nil, seed: UInt64) -> LoadedFluxModel {
        let store = ParameterStore(randomSeed: seed)
        let model = FluxTransformer2DModel(configuration: configuration, structure: structure, weights: store.root)
        return LoadedFluxModel(model: model, parameters: store)
    }

    /// `directory`, or its `transformer/` subfolder when `directory` is a pipeline root without a config.
    static func resolvedModelDirectory(_ directory: String) -> String {
        let url = URL(fileURLWithPath: directory)
        let manager = FileManager.default
        if !manager.fileExists(atPath: url.appendingPathComponent("config.json").path) {
            let transformer = url.appendingPathComponent("transformer")
            if manager.fileExists(atPath: transformer.appendingPathComponent("config.json").path) { return transformer.path }
        }
        return directory
    }
}
