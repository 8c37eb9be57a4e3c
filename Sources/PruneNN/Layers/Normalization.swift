import PruneTensor

/// `torch.nn.GroupNorm`; keys `weight`, `bias` `[C]` when affine.
public struct GroupNorm {
    public let groups: Int
    public let epsilon: Float
    public let weight: Tensor?
    public let bias: Tensor?

    public init(_ scope: WeightScope, groups: Int, channels: Int, epsilon: Float, affine: Bool = true) {
        self.groups = groups
        self.epsilon = epsilon
        weight = affine ? scope.parameter("weight", shape: [channels], initialization: .ones) : nil
        bias = affine ? scope.parameter("bias", shape: [channels], initialization: .zeros) : nil
    }

    /// `[N, C, *]` → same shape.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        groupNorm(x, groups: groups, weight: weight, bias: bias, epsilon: epsilon)
    }
}

/// `torch.nn.LayerNorm` over the last axis; keys `weight`, `bias` `[D]` when `elementwise_affine`.
public struct LayerNorm {
    public let epsilon: Float
    public let weight: Tensor?
    public let bias: Tensor?

    public init(_ scope: WeightScope, dimension: Int, epsilon: Float, affine: Bool = true, bias hasBias: Bool = true) {
        self.epsilon = epsilon
        weight = affine ? scope.parameter("weight", shape: [dimension], initialization: .ones) : nil
        bias = affine && hasBias ? scope.parameter("bias", shape: [dimension], initialization: .zeros) : nil
    }

    /// `[..., D]` → same shape.
    public func callAsFunction(_ x: Tensor) -> Tensor { layerNorm(x, weight: weight, bias: bias, epsilon: epsilon) }
}

/// diffusers' `RMSNorm` over the last axis; key `weight` `[D]` when affine.
public struct RMSNorm {
    public let epsilon: Float
    public let weight: Tensor?

    public init(_ scope: WeightScope, dimension: Int, epsilon: Float, affine: Bool = true) {
        self.epsilon = epsilon
        weight = affine ? scope.parameter("weight", shape: [dimension], initialization: .ones) : nil
    }

    /// `[..., D]` → same shape.
    public func callAsFunction(_ x: Tensor) -> Tensor { rmsNorm(x, weight: weight, epsilon: epsilon) }
}
