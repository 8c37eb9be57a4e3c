import PruneKit
import PruneNN

/// Sizes of a FLUX transformer computed from its configuration and structure alone (no weights), by
/// summing the same layer shapes the model is built from (``FluxTransformer2DModel/Shapes``).
public struct FluxParameterAccounting: Sendable, Equatable {
    /// Every parameter with its checkpoint key and shape.
    public let parameters: [ParameterShape]
    /// Total parameter elements.
    public let parameterCount: Int
    /// Attention heads: double-block joint heads plus single-block heads.
    public let attentionHeadCount: Int
    /// FFN neurons: double-block `ff` and `ff_context` hidden units plus single-block MLP units.
    public let feedForwardNeuronCount: Int

    /// - Parameters:
    ///   - configuration: the model's hyper-parameters.
    ///   - structure: per-module widths; `nil` for the unpruned model.
    public init(configuration: FluxConfiguration, structure: FluxStructure? = nil) {
        let structure = structure ?? FluxStructure(configuration: configuration)
        parameters = FluxTransformer2DModel.Shapes(configuration: configuration, structure: structure).parameters
        parameterCount = parameters.reduce(0) { $0 + $1.count }
        attentionHeadCount = structure.attentionHeadCount
        feedForwardNeuronCount = structure.feedForwardNeuronCount
    }

    /// Parameter elements whose key starts with `prefix` (e.g. `transformer_blocks.` or `norm_out.`).
    public func parameterCount(under prefix: String) -> Int {
        parameters.lazy.filter { $0.key.hasPrefix(prefix) }.reduce(0) { $0 + $1.count }
    }
}

extension FluxParameterAccounting {
    /// Parameters, attention heads and FFN neurons as the CLI reports them.
    public var summary: ModelAccounting {
        ModelAccounting(parameters: parameterCount, heads: attentionHeadCount, ffnNeurons: feedForwardNeuronCount)
    }
}
