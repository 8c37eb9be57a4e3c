import PruneTensor

/// Parameters that share a learning rate and weight decay, as PyTorch's optimizer `param_groups`.
///
/// ```swift
/// let heads = ParameterGroup(name: "head", parameters: headLambdas, learningRate: 0.1)
/// ```
public struct ParameterGroup: @unchecked Sendable {
    /// A label for logs and errors.
    public var name: String
    /// (key, tensor) pairs in a fixed order; keys are unique across an optimizer's groups and name the
    /// parameter's state entries.
    public var parameters: [(key: String, tensor: Tensor)]
    public var learningRate: Float
    /// Decoupled weight decay coefficient (PyTorch AdamW default 0.01).
    public var weightDecay: Float

    public init(name: String, parameters: [(key: String, tensor: Tensor)], learningRate: Float, weightDecay: Float = 0.01) {
        self.name = name
        self.parameters = parameters
        self.learningRate = learningRate
        self.weightDecay = weightDecay
    }

    /// A group over a dictionary, in key order.
    public init(name: String, parameters: [String: Tensor], learningRate: Float, weightDecay: Float = 0.01) {
        self.init(
            name: name, parameters: parameters.keys.sorted().map { ($0, parameters[$0]!) },
            learningRate: learningRate, weightDecay: weightDecay)
    }
}
