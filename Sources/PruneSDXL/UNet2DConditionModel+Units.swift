import PruneKit
import PruneNN

extension UNet2DConditionModel {
    /// Every `BasicTransformerBlock`, in execution order (down blocks, mid block, up blocks).
    var transformerBlocks: [BasicTransformerBlock] {
        downBlocks.flatMap { $0.attentions.flatMap(\.blocks) }
            + (midBlock?.attentions.flatMap(\.blocks) ?? [])
            + upBlocks.flatMap { $0.attentions.flatMap(\.blocks) }
    }

    /// The maskable units of every `BasicTransformerBlock`, in execution order: per block `attn1` heads,
    /// `attn2` heads and `ff` GEGLU neurons, with the module keys of `mask.<key>` files
    /// (e.g. `down_blocks.1.attentions.0.transformer_blocks.0.attn2`).
    ///
    /// - Head `h` (head width `D`): rows `[hD, (h+1)D)` of `to_q`/`to_k`/`to_v.weight` (`[H·D, C]` and
    ///   `[H·D, Cctx]`, no biases) and columns `[hD, (h+1)D)` of `to_out.0.weight` (`[C, H·D]`).
    /// - GEGLU neuron `j` (width `I`): rows `j` and `I + j` of `ff.net.0.proj.weight` (`[2I, C]`) and of its
    ///   bias, and column `j` of `ff.net.2.weight` (`[C, I]`).
    ///
    /// The groups describe this model's current widths, so a pruned model's groups have fewer units.
    public var unitGroups: [UnitGroup] {
        transformerBlocks.flatMap { block in
            [Self.headGroup(block.selfAttention), Self.headGroup(block.crossAttention), Self.neuronGroup(block.feedForward)]
        }.insertingBlockLists(blockListGroups)
    }

    static func headGroup(_ attention: Attention) -> UnitGroup {
        let key = attention.moduleKey
        let width = attention.headDimension
        return UnitGroup(
            moduleKey: key, kind: .attentionHead, unitCount: attention.heads,
            slices: ["to_q", "to_k", "to_v"].map { ParameterSlice(key: "\(key).\($0).weight", axis: 0, width: width) }
                + [ParameterSlice(key: "\(key).to_out.0.weight", axis: 1, width: width)])
    }

    static func neuronGroup(_ feedForward: FeedForward) -> UnitGroup {
        let key = feedForward.moduleKey
        let inner = feedForward.innerDimension
        let projection = "\(key).net.0.proj"
        return UnitGroup(
            moduleKey: key, kind: .feedForwardNeuron, unitCount: inner,
            slices: [
                ParameterSlice(key: "\(projection).weight", axis: 0, offset: 0, width: 1),
                ParameterSlice(key: "\(projection).weight", axis: 0, offset: inner, width: 1),
                ParameterSlice(key: "\(projection).bias", axis: 0, offset: 0, width: 1),
                ParameterSlice(key: "\(projection).bias", axis: 0, offset: inner, width: 1),
                ParameterSlice(key: "\(key).net.2.weight", axis: 1, width: 1),
            ])
    }

    /// The unit groups and parameter shapes of `configuration` with `widths`, from a build over a shapes-only
    /// store (no weights allocated): what counting, planning and reload inference read.
    /// - Throws: ``UNetConfigurationError``.
    public static func layout(
        of configuration: UNetConfiguration, widths: UnitWidths = .configuration
    ) throws(UNetConfigurationError) -> ModelLayout {
        let store = ParameterStore(shapesOnly: ())
        let model = try UNet2DConditionModel(configuration, weights: store.root, widths: widths)
        return ModelLayout(groups: model.unitGroups, shapes: store.parameters.mapValues(\.shape))
    }
}
