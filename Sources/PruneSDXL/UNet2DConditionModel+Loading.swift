import Foundation
import PruneKit
import PruneNN
import PruneTensor

extension UNet2DConditionModel {
    /// Loads a diffusers model directory (`config.json` plus `diffusion_pytorch_model.safetensors` or its
    /// sharded index). Every missing, mis-shaped and unexpected key is reported in one error.
    ///
    /// - Parameters:
    ///   - directory: the `unet/` folder of a pipeline, or a folder laid out the same way (a pruned export
    ///     included).
    ///   - widths: where the per-module unit widths come from; by default the weights' shapes
    ///     (``UnitWidths/init(inferredFrom:layout:)``), so pruned exports load with their pruned head counts
    ///     and FFN widths.
    /// - Returns: the model and the store that owns its parameters.
    /// - Throws: ``UNetConfigurationError``, ``CheckpointFileError``, `UnitWidthsError` or ``CheckpointError``.
    public static func load(
        directory: String, widths: UnitWidthsSource = .inferredFromWeights
    ) throws -> (model: UNet2DConditionModel, parameters: ParameterStore) {
        let configuration = try UNetConfiguration.load(
            contentsOf: URL(fileURLWithPath: directory).appendingPathComponent("config.json").path)
        let source = try SafetensorsTensorSource(modelDirectory: directory)
        return try load(configuration: configuration, source: source, sourceName: source.name, widths: widths)
    }

    /// Builds the model over any ``TensorSource`` in diffusers names — a single-file checkpoint's remapped
    /// U-Net, say — with the same checks as ``load(directory:widths:)``.
    /// - Throws: ``UNetConfigurationError``, `UnitWidthsError` or ``CheckpointError``.
    public static func load(
        configuration: UNetConfiguration, source: any TensorSource, sourceName: String,
        widths: UnitWidthsSource = .inferredFromWeights
    ) throws -> (model: UNet2DConditionModel, parameters: ParameterStore) {
        try configuration.validate()
        let resolved = try widths.resolved(source: source) { try layout(of: configuration) }
        let store = ParameterStore(source: source, sourceName: sourceName)
        let model = try UNet2DConditionModel(configuration, weights: store.root, widths: resolved)
        try store.finish()
        return (model, store)
    }
}
