import Foundation
import PruneKit

extension PluginModel {
    /// The configuration with the depth of every block list `selection` shortens set to its kept blocks, under the key
    /// the plugin named with `builder_block_depth_key` (DiT: `"depth"`); see
    /// ``prunedConfiguration(_:groups:depthKeys:selection:architecture:)``.
    public func prunedConfigurationJSON(sourceDirectory: String?, selection: UnitSelection) throws -> Data {
        try Self.prunedConfiguration(
            try configurationJSON(sourceDirectory: sourceDirectory), groups: unitGroups, depthKeys: blockDepthKeys, selection: selection,
            architecture: architectureName)
    }

    /// `configuration` (a JSON object) with, for every block list of `groups` that `selection` shortens, the key
    /// `depthKeys[list]` set to the number of kept blocks, so the reloaded model builds that many blocks — numbered
    /// `0 … kept−1`, as the export renumbers them. Rewritten with sorted keys when a depth changes; returned unchanged
    /// otherwise.
    /// - Throws: ``ExportError/depthNotExpressible(architecture:module:)`` when a shortened list has no depth key (the
    ///   plugin declared none); ``ExportError/invalidConfiguration(reason:)`` when `configuration` is not a JSON object.
    static func prunedConfiguration(
        _ configuration: Data, groups: [UnitGroup], depthKeys: [String: String], selection: UnitSelection, architecture: String
    ) throws(ExportError) -> Data {
        var depths: [String: Int] = [:]
        for list in groups where list.isBlockList {
            let kept = selection.keptUnits(of: list).count
            guard kept < list.unitCount else { continue }
            guard let key = depthKeys[list.moduleKey] else { throw .depthNotExpressible(architecture: architecture, module: list.moduleKey) }
            depths[key] = kept
        }
        guard !depths.isEmpty else { return configuration }
        guard var object = (try? JSONSerialization.jsonObject(with: configuration)) as? [String: Any] else {
            throw .invalidConfiguration(reason: "the \(architecture) configuration is not a JSON object")
        }
        for (key, depth) in depths { object[key] = depth }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]) else {
            throw .invalidConfiguration(reason: "the \(architecture) configuration cannot be written back as JSON")
        }
        return data
    }
}
