import PruneKit
import PruneNN
import PruneTensor

extension UNet2DConditionModel {
    /// Heads and FFN neurons of this model (its block structures), with `parameters` counted by `store`.
    public func accounting(parameters store: ParameterStore) -> ModelAccounting {
        let heads = blockStructures.reduce(0) { $0 + $1.structure.selfAttentionHeads + $1.structure.crossAttentionHeads }
        let neurons = blockStructures.reduce(0) { $0 + $1.structure.feedForwardWidth }
        return ModelAccounting(parameters: store.parameterCount, heads: heads, ffnNeurons: neurons)
    }

    /// Counts parameters and units of `configuration` without allocating any weights.
    /// - Throws: ``UNetConfigurationError``.
    public static func accounting(
        of configuration: UNetConfiguration, structureOverrides: [String: TransformerBlockStructure] = [:]
    ) throws(UNetConfigurationError) -> ModelAccounting {
        let store = ParameterStore(shapesOnly: ())
        let model = try UNet2DConditionModel(configuration, weights: store.root, structureOverrides: structureOverrides)
        return model.accounting(parameters: store)
    }
}
