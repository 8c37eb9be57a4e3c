import PruneNN
import PruneTensor

/// Where a loaded U-Net's per-block unit widths (attention heads, GEGLU widths) come from.
public enum UNetStructureSource: Sendable, Equatable {
    /// The unpruned widths of the configuration.
    case configuration
    /// The widths the checkpoint's tensors have (see
    /// ``UNet2DConditionModel/inferredBlockStructures(from:configuration:)``); for unpruned checkpoints
    /// these are the configuration's, for pruned exports the pruned ones.
    case inferredFromWeights
    /// Exactly these widths, by transformer-block key; unlisted blocks keep the configuration's.
    case explicit([String: TransformerBlockStructure])
}

extension UNet2DConditionModel {
    /// The unit widths a (possibly pruned) checkpoint was saved with, by transformer-block key
    /// (e.g. `mid_block.attentions.0.transformer_blocks.1`): heads from the rows of `attn1.to_q.weight`
    /// and `attn2.to_q.weight` ÷ the level's head width, the GEGLU width from the columns of
    /// `ff.net.2.weight`.
    ///
    /// A tensor that is absent, or whose other extent is not the block's channel count (or whose rows are
    /// not a whole number of heads), leaves the configuration's width in place, so that loading reports
    /// the tensor as missing or mis-shaped against the configuration.
    ///
    /// - Throws: ``UNetConfigurationError``.
    public static func inferredBlockStructures(
        from source: any TensorSource, configuration: UNetConfiguration
    ) throws(UNetConfigurationError) -> [String: TransformerBlockStructure] {
        let store = ParameterStore(shapesOnly: ())
        let unpruned = try UNet2DConditionModel(configuration, weights: store.root)
        var structures: [String: TransformerBlockStructure] = [:]
        for block in unpruned.transformerBlocks {
            let key = String(block.selfAttention.moduleKey.dropLast(".attn1".count))
            var structure = TransformerBlockStructure(
                selfAttentionHeads: block.selfAttention.heads, crossAttentionHeads: block.crossAttention.heads,
                feedForwardWidth: block.feedForward.innerDimension)
            let channels = block.selfAttention.toQuery.inFeatures
            if let heads = inferredHeads(source, block.selfAttention, channels: channels) { structure.selfAttentionHeads = heads }
            if let heads = inferredHeads(source, block.crossAttention, channels: channels) { structure.crossAttentionHeads = heads }
            if let shape = source.shape(of: "\(block.feedForward.moduleKey).net.2.weight"), shape.count == 2, shape[0] == channels {
                structure.feedForwardWidth = shape[1]
            }
            structures[key] = structure
        }
        return structures
    }

    /// Heads of `attention` in `source`: rows of `to_q.weight` ÷ head width, when its shape is `[rows, channels]`.
    private static func inferredHeads(_ source: any TensorSource, _ attention: Attention, channels: Int) -> Int? {
        guard let shape = source.shape(of: "\(attention.moduleKey).to_q.weight"), shape.count == 2, shape[1] == channels,
            attention.headDimension > 0, shape[0] % attention.headDimension == 0
        else { return nil }
        return shape[0] / attention.headDimension
    }
}
