import Foundation
import PruneNN
import PruneTensor

extension UNet2DConditionModel {
    /// Loads a diffusers model directory (`config.json` plus `diffusion_pytorch_model.safetensors` or its
    /// sharded index). Every missing, mis-shaped and unexpected key is reported in one error.
    ///
    /// - Parameters:
    ///   - directory: the `unet/` folder of a pipeline, or a folder laid out the same way (a pruned export
    ///     included).
    ///   - structure: where the per-block unit widths come from; by default the weights' shapes, so pruned
    ///     exports load with their pruned head counts and FFN widths.
    /// - Returns: the model and the store that owns its parameters.
    /// - Throws: ``UNetConfigurationError``, ``CheckpointFileError`` or ``CheckpointError``.
    public static func load(
        directory: String, structure: UNetStructureSource = .inferredFromWeights
    ) throws -> (model: UNet2DConditionModel, parameters: ParameterStore) {
        let configuration = try UNetConfiguration.load(
            contentsOf: URL(fileURLWithPath: directory).appendingPathComponent("config.json").path)
        let source = try SafetensorsTensorSource(modelDirectory: directory)
        return try load(configuration: configuration, source: source, sourceName: source.name, structure: structure)
    }

    /// Builds the model over any ``TensorSource`` in diffusers names — a single-file checkpoint's remapped
    /// U-Net, say — with the same checks as ``load(directory:structure:)``.
    /// - Throws: ``UNetConfigurationError`` or ``CheckpointError``.
    public static func load(
        configuration: UNetConfiguration, source: any TensorSource, sourceName: String,
        structure: UNetStructureSource = .inferredFromWeights
    ) throws -> (model: UNet2DConditionModel, parameters: ParameterStore) {
        try configuration.validate()
        let overrides: [String: TransformerBlockStructure]
        switch structure {
        case .configuration: overrides = [:]
        case .inferredFromWeights: overrides = try inferredBlockStructures(from: source, configuration: configuration)
        case .explicit(let given): overrides = given
        }
        let store = ParameterStore(source: source, sourceName: sourceName)
        let model = try UNet2DConditionModel(configuration, weights: store.root, structureOverrides: overrides)
        try store.finish()
        return (model, store)
    }
}
