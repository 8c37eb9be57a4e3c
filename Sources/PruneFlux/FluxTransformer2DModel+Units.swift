import PruneKit
import PruneNN

extension FluxTransformer2DModel.Shapes {
    /// The maskable units of every block, in execution order (per double block `attn`, `ff`, `ff_context`;
    /// per single block `attn`, `mlp`) and with the module keys of `mask.<key>` files and ``UnitWidths``.
    /// With `D` the head width and `C` the model width:
    ///
    /// - `transformer_blocks.N.attn`, head `h`: rows `[hD, (h+1)D)` of `to_q/to_k/to_v` and
    ///   `add_q_proj/add_k_proj/add_v_proj` (weights `[H·D, C]` and biases), columns `[hD, (h+1)D)` of
    ///   `to_out.0.weight` and `to_add_out.weight` (`[C, H·D]`).
    /// - `transformer_blocks.N.ff` / `.ff_context`, neuron `j`: row `j` of `net.0.proj` (weight `[I, C]`
    ///   and bias), column `j` of `net.2.weight` (`[C, I]`).
    /// - `single_transformer_blocks.N.attn`, head `h`: rows of `attn.to_q/to_k/to_v` (weights and biases)
    ///   and columns `[hD, (h+1)D)` of `proj_out.weight` (`[C, H·D + M]`).
    /// - `single_transformer_blocks.N.mlp`, neuron `j`: row `j` of `proj_mlp` (weight `[M, C]` and bias)
    ///   and column `H·D + j` of `proj_out.weight`.
    public var unitGroups: [UnitGroup] {
        var groups: [UnitGroup] = []
        for (index, block) in doubleBlocks.enumerated() {
            let prefix = "transformer_blocks.\(index)"
            let attention = block.attention
            let attentionKey = checkpointKey(prefix, "attn")
            let projections = [attention.query, attention.key, attention.value, attention.addedQuery, attention.addedKey, attention.addedValue]
            groups.append(UnitGroup(
                moduleKey: attentionKey, kind: .attentionHead, unitCount: attention.heads,
                slices: projections.flatMap { Self.rows(checkpointKey(attentionKey, $0.name), width: attention.headDimension) }
                    + [attention.output, attention.addedOutput].map {
                        ParameterSlice(key: checkpointKey(attentionKey, $0.name) + ".weight", axis: 1, width: attention.headDimension)
                    }))
            for feedForward in [block.feedForward, block.contextFeedForward] {
                let key = checkpointKey(prefix, feedForward.name)
                groups.append(UnitGroup(
                    moduleKey: key, kind: .feedForwardNeuron, unitCount: feedForward.innerDimension,
                    slices: Self.rows(checkpointKey(key, feedForward.projectIn.name), width: 1)
                        + [ParameterSlice(key: checkpointKey(key, feedForward.projectOut.name) + ".weight", axis: 1, width: 1)]))
            }
        }
        for (index, block) in singleBlocks.enumerated() {
            let prefix = "single_transformer_blocks.\(index)"
            let attention = block.attention
            let attentionKey = checkpointKey(prefix, "attn")
            let output = checkpointKey(prefix, block.output.name) + ".weight"
            groups.append(UnitGroup(
                moduleKey: attentionKey, kind: .attentionHead, unitCount: attention.heads,
                slices: [attention.query, attention.key, attention.value].flatMap {
                    Self.rows(checkpointKey(attentionKey, $0.name), width: attention.headDimension)
                } + [ParameterSlice(key: output, axis: 1, offset: 0, width: attention.headDimension)]))
            groups.append(UnitGroup(
                moduleKey: checkpointKey(prefix, "mlp"), kind: .feedForwardNeuron, unitCount: block.mlpWidth,
                slices: Self.rows(checkpointKey(prefix, block.mlp.name), width: 1)
                    + [ParameterSlice(key: output, axis: 1, offset: attention.innerDimension, width: 1)]))
        }
        return groups.insertingBlockLists(blockListGroups)
    }

    /// Rows of `<linear>.weight` and `<linear>.bias`, `width` per unit.
    private static func rows(_ linear: String, width: Int) -> [ParameterSlice] {
        [ParameterSlice(key: linear + ".weight", axis: 0, width: width), ParameterSlice(key: linear + ".bias", axis: 0, width: width)]
    }
}

extension FluxTransformer2DModel {
    /// The maskable units of this model (its current widths); see ``Shapes/unitGroups``.
    public var unitGroups: [UnitGroup] { shapes.unitGroups }

    /// The unit groups and parameter shapes of `configuration` with `widths`, from a build over a
    /// shapes-only store (no weights allocated): what counting, planning and reload inference read.
    public static func layout(configuration: FluxConfiguration, widths: UnitWidths = .configuration) -> ModelLayout {
        let store = ParameterStore(shapesOnly: ())
        let model = FluxTransformer2DModel(configuration: configuration, widths: widths, weights: store.root)
        return ModelLayout(groups: model.unitGroups, shapes: store.parameters.mapValues(\.shape))
    }
}
