import Foundation
import PruneKit
import PruneNN

extension FluxTransformer2DModel {
    /// The module keys of FLUX's two block lists: double-stream `transformer_blocks` (config `num_layers`) and
    /// single-stream `single_transformer_blocks` (config `num_single_layers`).
    public static let blockLists: [(listKey: String, configurationKey: String)] = [
        ("transformer_blocks", "num_layers"), ("single_transformer_blocks", "num_single_layers"),
    ]

    /// `config.json` of this model pruned to `selection`: ``configurationJSON(sourceDirectory:)`` unchanged when no
    /// whole block is removed, else its JSON object with `num_layers` / `num_single_layers` set to the kept block
    /// counts and every other key kept (surgery renumbers the kept blocks `0..<kept`).
    /// - Throws: ``ExportError/invalidConfiguration(reason:)`` when the configuration is not a JSON object.
    public func prunedConfigurationJSON(sourceDirectory: String?, selection: UnitSelection) throws(ExportError) -> Data {
        let data = try configurationJSON(sourceDirectory: sourceDirectory)
        let counts = [configuration.doubleBlockCount, configuration.singleBlockCount]
        var depths: [String: Int] = [:]
        for ((listKey, configurationKey), count) in zip(Self.blockLists, counts) {
            let group = UnitGroup(moduleKey: listKey, kind: .block, unitCount: count, slices: [])
            let kept = selection.keptUnits(of: group).count
            if kept < count { depths[configurationKey] = kept }
        }
        guard !depths.isEmpty else { return data }
        return try ConfigurationJSONEditor.setting(depths, in: data)
    }
}

extension FluxTransformer2DModel.Shapes {
    /// One ``UnitKind/block`` group per block list (`transformer_blocks`, `single_transformer_blocks`), each block
    /// owning every parameter under `<list>.<index>.` (keys from a build of the blocks over a shapes-only store);
    /// a list without blocks has none.
    public var blockListGroups: [UnitGroup] {
        let store = ParameterStore(shapesOnly: ())
        let doubleScope = store.root.scoped("transformer_blocks")
        for (index, block) in doubleBlocks.enumerated() { _ = FluxTransformerBlock(doubleScope.scoped(index), block) }
        let singleScope = store.root.scoped("single_transformer_blocks")
        for (index, block) in singleBlocks.enumerated() { _ = FluxSingleTransformerBlock(singleScope.scoped(index), block) }
        let keys = Array(store.parameters.keys)
        return zip(FluxTransformer2DModel.blockLists.map(\.listKey), [doubleBlocks.count, singleBlocks.count])
            .filter { $0.1 > 0 }
            .map { UnitGroup.blocks(listKey: $0.0, count: $0.1, parameterKeys: keys) }
    }
}
