import PruneNN
import PruneTensor

/// What a model is made of, counted from its structure: parameters and prunable units.
public struct ModelAccounting: Sendable, Equatable, Codable {
    /// Total parameter elements.
    public var parameters: Int
    /// Attention heads over all attention modules.
    public var heads: Int
    /// Feed-forward hidden neurons over all FFNs.
    public var ffnNeurons: Int

    public init(parameters: Int, heads: Int, ffnNeurons: Int) {
        self.parameters = parameters
        self.heads = heads
        self.ffnNeurons = ffnNeurons
    }

    enum CodingKeys: String, CodingKey {
        case parameters, heads
        case ffnNeurons = "ffn_neurons"
    }
}

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
