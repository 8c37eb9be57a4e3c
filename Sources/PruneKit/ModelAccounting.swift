// Parameter and unit counts of a model.

/// What a model is made of: parameters and prunable units, counted from its ``ModelLayout`` (see
/// ``init(layout:)``).
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

extension ModelAccounting {
    /// Counts a model from its layout alone: the parameters are the sum of every parameter shape, the heads
    /// the units of its ``UnitKind/attentionHead`` groups and the neurons those of its
    /// ``UnitKind/feedForwardNeuron`` groups. Every architecture — built in or plugin, pruned or not — is
    /// counted this way.
    public init(layout: ModelLayout) {
        func units(_ kind: UnitKind) -> Int { layout.groups.lazy.filter { $0.kind == kind }.reduce(0) { $0 + $1.unitCount } }
        self.init(parameters: layout.parameterCount, heads: units(.attentionHead), ffnNeurons: units(.feedForwardNeuron))
    }
}
