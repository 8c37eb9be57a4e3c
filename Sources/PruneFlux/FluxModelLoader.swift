import Foundation
import PruneKit
import PruneNN
import PruneTensor

/// A FLUX transformer together with the store that owns its parameters.
public struct LoadedFluxModel {
    public let model: FluxTransformer2DModel
    /// The parameters by checkpoint key (for gradients, `setRequiresGradient`, export).
    public let parameters: ParameterStore

    public var configuration: FluxConfiguration { model.configuration }
    /// The kept units of the pruned modules (empty when unpruned).
    public var widths: UnitWidths { model.widths }
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
    ///   - widths: where the per-module unit widths come from (`.inferredFromWeights` for pruned exports).
    /// - Throws: ``FluxConfigurationError`` (config.json), `CheckpointFileError` (locating or opening the
    ///   weights), `UnitWidthsError`, and `CheckpointError.mismatched` listing every missing,
    ///   mis-shaped and unexpected tensor together.
    public static func load(directory: String, widths: UnitWidthsSource = .configuration) throws -> LoadedFluxModel {
        let modelDirectory = resolvedModelDirectory(directory)
        let configurationPath = URL(fileURLWithPath: modelDirectory).appendingPathComponent("config.json").path
        let configuration = try FluxConfiguration.load(path: configurationPath)
        let source = try SafetensorsTensorSource(modelDirectory: modelDirectory)
        return try load(configuration: configuration, source: source, sourceName: source.name, widths: widths)
    }

    /// Loads a Black Forest Labs single-file checkpoint (`flux1-dev.safetensors` naming, optionally with the
    /// `model.diffusion_model.` prefix of all-in-one files), renaming its tensors with
    /// ``FluxKeyRules/blackForestLabs``.
    ///
    /// - Parameters:
    ///   - file: the `.safetensors` file.
    ///   - configuration: the model's hyper-parameters (the file carries none); `.fluxDev` or `.fluxSchnell`
    ///     for the released models.
    /// - Throws: as ``load(directory:widths:)``.
    public static func loadBlackForestLabs(
        file: String, configuration: FluxConfiguration, widths: UnitWidthsSource = .configuration
    ) throws -> LoadedFluxModel {
        let source = try SafetensorsTensorSource(file: file)
        let renamed = RemappedTensorSource(base: source, rules: FluxKeyRules.blackForestLabs, stripPrefixes: FluxKeyRules.allInOnePrefixes)
        return try load(configuration: configuration, source: renamed, sourceName: file, widths: widths)
    }

    /// Builds the model over `source` (diffusers keys) and checks that every tensor matched.
    ///
    /// - Throws: ``FluxConfigurationError``, `UnitWidthsError`, `CheckpointError.mismatched`.
    public static func load(
        configuration: FluxConfiguration, source: any TensorSource, sourceName: String,
        widths: UnitWidthsSource = .configuration
    ) throws -> LoadedFluxModel {
        try configuration.validate()
        let resolved = try widths.resolved(source: source) { FluxTransformer2DModel.layout(configuration: configuration) }
        let store = ParameterStore(source: source, sourceName: sourceName)
        let model = FluxTransformer2DModel(configuration: configuration, widths: resolved, weights: store.root)
        try store.finish()
        return LoadedFluxModel(model: model, parameters: store)
    }

    /// A randomly initialised model (PyTorch-style fan-in uniform Linears, unit norms), for tests and tools.
    public static func random(configuration: FluxConfiguration, widths: UnitWidths = .configuration, seed: UInt64) -> LoadedFluxModel {
        let store = ParameterStore(randomSeed: seed)
        let model = FluxTransformer2DModel(configuration: configuration, widths: widths, weights: store.root)
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
