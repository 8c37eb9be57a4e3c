import Foundation
import PruneKit
import PruneNN
import PruneTensor

extension FluxTransformer2DModel {
    /// Writes this model with the units outside `selection` physically removed, as a diffusers model
    /// directory that ``FluxModelLoader/load(directory:widths:)`` with `.inferredFromWeights` (and so
    /// `prunekit forward/sample/params`) reloads with the pruned widths; see ``PrunedExport`` for the files.
    ///
    /// A module whose units are all removed keeps zero-width projections, so it contributes its output
    /// bias, exactly as the masked model does (not an identity). Removed whole blocks are gone, the kept ones
    /// renumbered, and `config.json` says the new `num_layers` / `num_single_layers`.
    ///
    /// - Parameters:
    ///   - parameters: the store this model was built from.
    ///   - selection: kept units by module key.
    ///   - directory: the export directory to create.
    ///   - provenance: criterion, target, seed, and the source directory (a pipeline root with
    ///     `transformer/` is accepted) whose `config.json` is copied (otherwise the configuration is
    ///     encoded) and whose weights are fingerprinted.
    ///   - replacing: whether an existing `directory` may be replaced.
    ///   - dtype: element type of the written weights.
    /// - Returns: the manifest written as `prunekit.json`.
    /// - Throws: ``ExportError``.
    @discardableResult
    public func exportPruned(
        parameters: ParameterStore, selection: UnitSelection, to directory: String,
        provenance: PruningProvenance = PruningProvenance(), replacing: Bool = false, dtype: DType = .float32
    ) throws(ExportError) -> ExportManifest {
        var provenance = provenance
        provenance.sourceDirectory = provenance.sourceDirectory.map(FluxModelLoader.resolvedModelDirectory)
        return try PrunedExport.write(
            parameters: parameters.parameters, groups: unitGroups, selection: selection,
            architecture: FluxConfiguration.className,
            configuration: try prunedConfigurationJSON(sourceDirectory: provenance.sourceDirectory, selection: selection),
            provenance: provenance, to: directory, replacing: replacing, dtype: dtype)
    }

    /// The `config.json` to export: the source directory's own file when there is one, else this model's
    /// configuration encoded (diffusers keys and `_class_name`).
    /// - Throws: ``ExportError/invalidConfiguration(reason:)`` when the configuration does not encode.
    public func configurationJSON(sourceDirectory: String?) throws(ExportError) -> Data {
        if let sourceDirectory,
            let data = FileManager.default.contents(atPath: URL(fileURLWithPath: sourceDirectory).appendingPathComponent("config.json").path)
        {
            return data
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do { return try encoder.encode(configuration) } catch { throw .invalidConfiguration(reason: "\(error)") }
    }
}
