import PruneTensor

/// `torch.nn.LayerNorm` over the last axis with stored-precision `weight` and `bias` `[D]`.
struct StoredLayerNorm {
    let weight: Tensor
    let bias: Tensor
    let epsilon: Float

    init(_ scope: ParameterScope, dimension: Int, epsilon: Float) {
        weight = scope.parameter("weight", shape: [dimension])
        bias = scope.parameter("bias", shape: [dimension])
        self.epsilon = epsilon
    }

    /// `[..., D]` → same shape.
    func callAsFunction(_ x: Tensor) -> Tensor {
        layerNorm(x, weight: Widening.float32(weight), bias: Widening.float32(bias), epsilon: epsilon)
    }
}

/// transformers' `T5LayerNorm`: `weight · x · rsqrt(mean(x²) + ε)` over the last axis — no mean subtraction, no
/// bias; key `weight` `[D]`.
///
/// This implementation matches: transformers `modeling_t5.py` `T5LayerNorm`, which takes the variance in float32
/// (all compute here is float32).
struct T5LayerNorm {
    let weight: Tensor
    let epsilon: Float

    init(_ scope: ParameterScope, dimension: Int, epsilon: Float) {
        weight = scope.parameter("weight", shape: [dimension])
        self.epsilon = epsilon
    }

    /// `[..., D]` → same shape.
    func callAsFunction(_ x: Tensor) -> Tensor { rmsNorm(x, weight: Widening.float32(weight), epsilon: epsilon) }
}
