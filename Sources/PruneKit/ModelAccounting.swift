// Parameter and unit counts of a model.

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
