import PruneTensor

/// `torch.nn.Linear` over weights kept in their stored element type: `y = x · weightᵀ + bias`, with the weight
/// widened to `float32` for this call only (see ``Widening``).
///
/// Keys: `weight` `[out, in]`, `bias` `[out]` when present.
struct StoredLinear {
    let weight: Tensor
    let bias: Tensor?

    init(_ scope: ParameterScope, inFeatures: Int, outFeatures: Int, bias hasBias: Bool) {
        weight = scope.parameter("weight", shape: [outFeatures, inFeatures])
        bias = hasBias ? scope.parameter("bias", shape: [outFeatures]) : nil
    }

    /// `[..., in]` → `[..., out]`.
    func callAsFunction(_ x: Tensor) -> Tensor {
        linear(x, weight: Widening.float32(weight), bias: bias.map(Widening.float32))
    }
}
