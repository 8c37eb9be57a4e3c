import PruneTensor

/// transformers' `T5Attention` for encoder self-attention: q/k/v/o without bias, no score scaling, the shared
/// position bias (and padding mask) added to the scores.
///
/// Keys under `layer.0.SelfAttention`: `q`, `k`, `v` `.weight` `[H·D, C]`, `o.weight` `[C, H·D]`, and in block 0
/// only `relative_attention_bias.weight` `[buckets, H]`.
struct T5SelfAttention {
    let query, key, value, output: StoredLinear
    let relativeAttentionBias: Tensor?
    let heads: Int

    init(_ scope: ParameterScope, configuration c: T5Configuration, hasRelativeBias: Bool) {
        let inner = c.innerDimension
        query = StoredLinear(scope.scoped("q"), inFeatures: c.modelDimension, outFeatures: inner, bias: false)
        key = StoredLinear(scope.scoped("k"), inFeatures: c.modelDimension, outFeatures: inner, bias: false)
        value = StoredLinear(scope.scoped("v"), inFeatures: c.modelDimension, outFeatures: inner, bias: false)
        output = StoredLinear(scope.scoped("o"), inFeatures: inner, outFeatures: c.modelDimension, bias: false)
        relativeAttentionBias =
            hasRelativeBias
            ? scope.scoped("relative_attention_bias").parameter("weight", shape: [c.relativeAttentionBuckets, c.headCount])
            : nil
        heads = c.headCount
    }

    /// `[B, L, C]` → `[B, L, C]`; `bias` broadcasts to `[B, H, L, L]`.
    func callAsFunction(_ x: Tensor, bias: Tensor) -> Tensor {
        output(BiasedAttention.callAsFunction(query: split(query(x)), key: split(key(x)), value: split(value(x)), bias: bias, scale: 1))
    }

    private func split(_ x: Tensor) -> Tensor {
        x.reshaped([x.shape[0], x.shape[1], heads, x.shape[2] / heads]).permuted([0, 2, 1, 3])
    }
}

/// transformers' `T5DenseGatedActDense` (`wo(act(wi_0 x) · wi_1 x)`) or `T5DenseActDense` (`wo(act(wi x))`).
///
/// Keys under `layer.1.DenseReluDense`: `wi_0.weight`, `wi_1.weight` `[F, C]` (gated) or `wi.weight` `[F, C]`,
/// and `wo.weight` `[C, F]`; no biases.
struct T5FeedForward {
    let inputs: [StoredLinear]
    let output: StoredLinear
    let activation: T5FeedForwardKind.Activation

    init(_ scope: ParameterScope, configuration c: T5Configuration) {
        let names = c.feedForward.isGated ? ["wi_0", "wi_1"] : ["wi"]
        inputs = names.map {
            StoredLinear(scope.scoped($0), inFeatures: c.modelDimension, outFeatures: c.feedForwardDimension, bias: false)
        }
        output = StoredLinear(scope.scoped("wo"), inFeatures: c.feedForwardDimension, outFeatures: c.modelDimension, bias: false)
        activation = c.feedForward.activation
    }

    /// `[B, L, C]` → `[B, L, C]`.
    func callAsFunction(_ x: Tensor) -> Tensor {
        var hidden = activate(inputs[0](x))
        if inputs.count == 2 { hidden = hidden * inputs[1](x) }
        return output(hidden)
    }

    private func activate(_ x: Tensor) -> Tensor {
        switch activation {
        case .relu: x.relu()
        case .gelu: x.gelu()
        case .geluTanh: x.gelu(approximateWithTanh: true)
        case .silu: x.silu()
        }
    }
}

/// One T5 encoder block: `h += SelfAttention(layer_norm(h))`, then `h += DenseReluDense(layer_norm(h))`.
///
/// Keys under `encoder.block.N`: `layer.0.SelfAttention.*`, `layer.0.layer_norm.weight` `[C]`,
/// `layer.1.DenseReluDense.*`, `layer.1.layer_norm.weight` `[C]`.
///
/// This implementation matches: transformers `modeling_t5.py` `T5Block` (encoder: no cross-attention) with
/// `T5LayerSelfAttention` and `T5LayerFF`, in float32 (the float16 clamping transformers applies to float16
/// activations does not arise).
struct T5Block {
    let attention: T5SelfAttention
    let attentionNorm: T5LayerNorm
    let feedForward: T5FeedForward
    let feedForwardNorm: T5LayerNorm

    init(_ scope: ParameterScope, configuration c: T5Configuration, hasRelativeBias: Bool) {
        attention = T5SelfAttention(scope.scoped("layer.0.SelfAttention"), configuration: c, hasRelativeBias: hasRelativeBias)
        attentionNorm = T5LayerNorm(scope.scoped("layer.0.layer_norm"), dimension: c.modelDimension, epsilon: c.layerNormEpsilon)
        feedForward = T5FeedForward(scope.scoped("layer.1.DenseReluDense"), configuration: c)
        feedForwardNorm = T5LayerNorm(scope.scoped("layer.1.layer_norm"), dimension: c.modelDimension, epsilon: c.layerNormEpsilon)
    }

    /// `[B, L, C]` → `[B, L, C]`.
    func callAsFunction(_ hidden: Tensor, bias: Tensor) -> Tensor {
        let afterAttention = hidden + attention(attentionNorm(hidden), bias: bias)
        return afterAttention + feedForward(feedForwardNorm(afterAttention))
    }
}
