import PruneTensor

/// diffusers' `Attention` with `AttnProcessor2_0` as SDXL uses it: self- or cross-attention, q/k/v
/// without bias, `to_out.0` with bias, no attention mask.
///
/// Keys: `to_q.weight` `[H·D, C]`, `to_k.weight`/`to_v.weight` `[H·D, Cctx]`, `to_out.0.weight` `[C, H·D]`,
/// `to_out.0.bias` `[C]`. The module key (the scope prefix) names its head mask.
public struct Attention {
    /// The module key, e.g. `down_blocks.1.attentions.0.transformer_blocks.0.attn1`.
    public let moduleKey: String
    public let heads: Int
    public let headDimension: Int
    public let toQuery, toKey, toValue, toOut: Linear

    public init(_ scope: WeightScope, queryDimension: Int, contextDimension: Int? = nil, heads: Int, headDimension: Int) {
        moduleKey = scope.prefix
        self.heads = heads
        self.headDimension = headDimension
        let inner = heads * headDimension
        let context = contextDimension ?? queryDimension
        toQuery = Linear(scope.scoped("to_q"), inFeatures: queryDimension, outFeatures: inner, bias: false)
        toKey = Linear(scope.scoped("to_k"), inFeatures: context, outFeatures: inner, bias: false)
        toValue = Linear(scope.scoped("to_v"), inFeatures: context, outFeatures: inner, bias: false)
        toOut = Linear(scope.scoped("to_out.0"), inFeatures: inner, outFeatures: queryDimension)
    }

    /// - Parameters:
    ///   - x: `[B, L, C]`.
    ///   - context: `[B, S, Cctx]` for cross-attention, `nil` for self-attention.
    ///   - masks: the head mask `[H]` under ``moduleKey`` if any.
    /// - Returns: `[B, L, C]`.
    public func callAsFunction(_ x: Tensor, context: Tensor? = nil, masks: UnitMasks = .none) -> Tensor {
        let source = context ?? x
        let q = Heads.split(toQuery(x), heads: heads)
        let k = Heads.split(toKey(source), heads: heads)
        let v = Heads.split(toValue(source), heads: heads)
        let attended = Heads.merge(scaledDotProductAttention(query: q, key: k, value: v))
        return toOut(Heads.masked(attended, by: masks[moduleKey], heads: heads))
    }
}
