import Foundation
import PruneKit
import PruneNN
import PruneTensor

extension UNet2DConditionModel {
    /// The diffusers class name, `config.json`'s `_class_name`.
    public static let className = "UNet2DConditionModel"

    /// Writes this model with the units outside `selection` physically removed, as a diffusers model
    /// directory that ``load(directory:widths:)`` (and so `prunekit forward/sample/params`) reloads with
    /// the pruned head counts and FFN widths; see ``PrunedExport`` for the files.
    ///
    /// A module whose units are all removed keeps zero-width projections, so it contributes its output
    /// bias, exactly as the masked model does (not an identity). Removed whole blocks are gone, the kept ones
    /// renumbered, and `config.json` gives every attention's depth in diffusers' per-layer form (see
    /// ``prunedConfigurationJSON(sourceDirectory:selection:)``, which also explains the identity blocks padding the
    /// mid block or the last down block where diffusers ties their depths).
    ///
    /// - Parameters:
    ///   - parameters: the store this model was built from.
    ///   - selection: kept units by module key (e.g. ``UnitSelection/init(masks:groups:threshold:)``).
    ///   - directory: the export directory to create.
    ///   - provenance: criterion, target, seed, and the source directory whose `config.json` is copied
    ///     (otherwise the configuration is encoded) and whose weights are fingerprinted.
    ///   - replacing: whether an existing `directory` may be replaced.
    ///   - dtype: element type of the written weights.
    /// - Returns: the manifest written as `prunekit.json`.
    /// - Throws: ``ExportError``.
    @discardableResult
    public func exportPruned(
        parameters: ParameterStore, selection: UnitSelection, to directory: String,
        provenance: PruningProvenance = PruningProvenance(), replacing: Bool = false, dtype: DType = .float32
    ) throws(ExportError) -> ExportManifest {
        let padding = try identityPadding(for: selection)
        return try PrunedExport.write(
            parameters: parameters.parameters, groups: unitGroups, selection: selection, architecture: Self.className,
            configuration: try prunedConfigurationJSON(sourceDirectory: provenance.sourceDirectory, selection: selection),
            provenance: provenance, to: directory, replacing: replacing, dtype: dtype,
            adding: identityPaddingTensors(padding, selection: selection, parameters: parameters.parameters))
    }

    /// The `config.json` to export: the source directory's own file when there is one, else this model's
    /// configuration encoded with its `_class_name`.
    /// - Throws: ``ExportError/invalidConfiguration(reason:)`` when the configuration does not encode.
    public func configurationJSON(sourceDirectory: String?) throws(ExportError) -> Data {
        if let sourceDirectory,
            let data = FileManager.default.contents(atPath: URL(fileURLWithPath: sourceDirectory).appendingPathComponent("config.json").path)
        {
            return data
        }
        do {
            let encoded = try JSONEncoder().encode(configuration)
            guard var object = try JSONSerialization.jsonObject(with: encoded) as? [String: Any] else {
                throw ExportError.invalidConfiguration(reason: "the configuration did not encode as a JSON object")
            }
            object["_class_name"] = Self.className
            return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        } catch let error as ExportError {
            throw error
        } catch {
            throw .invalidConfiguration(reason: "\(error)")
        }
    }
}
