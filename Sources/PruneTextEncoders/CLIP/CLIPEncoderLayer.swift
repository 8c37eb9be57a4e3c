import PruneTensor

/// One pre-norm CLIP text layer: `h += out_proj(attention(layer_norm1(h)))`, `h += fc2(act(fc1(layer_norm2(h))))`.
///
/// Keys under `text_model.encoder.layers.N`: `self_attn.{q,k,v,out}_proj.{weight,bias}` (`[C, C]`, `[C]`),
/// `layer_norm1`/`layer_norm2` `.{weight,bias}` `[C]`, `mlp.fc1` (`[I, C]`, `[I]`), `mlp.fc2` (`[C, I]`, `[C]`).
///
/// This implementation matches: transformers `modeling_clip.py` `CLIPEncoderLayer`, `CLIPAttention` (scores scaled
/// by `head_dim^-0.5`, softmax in float32) and `CLIPMLP`.
struct CLIPEncoderLayer {
    let query, key, value, output: StoredLinear
    let layerNorm1, layerNorm2: StoredLayerNorm
    let fc1, fc2: StoredLinear
    let heads: Int
    let activation: CLIPActivation

    init(_ scope: ParameterScope, configuration c: CLIPTextConfiguration) {
        let width = c.hiddenSize
        let attention = scope.scoped("self_attn")
        query = StoredLinear(attention.scoped("q_proj"), inFeatures: width, outFeatures: width, bias: true)
        key = StoredLinear(attention.scoped("k_proj"), inFeatures: width, outFeatures: width, bias: true)
        value = StoredLinear(attention.scoped("v_proj"), inFeatures: width, outFeatures: width, bias: true)
        output = StoredLinear(attention.scoped("out_proj"), inFeatures: width, outFeatures: width, bias: true)
        layerNorm1 = StoredLayerNorm(scope.scoped("layer_norm1"), dimension: width, epsilon: c.layerNormEpsilon)
        fc1 = StoredLinear(scope.scoped("mlp.fc1"), inFeatures: width, outFeatures: c.intermediateSize, bias: true)
        fc2 = StoredLinear(scope.scoped("mlp.fc2"), inFeatures: c.intermediateSize, outFeatures: width, bias: true)
        layerNorm2 = StoredLayerNorm(scope.scoped("layer_norm2"), dimension: width, epsilon: c.layerNormEpsilon)
        heads = c.headCount
        activation = c.activation
    }

    /// `[B, L, C]` → `[B, L, C]`; `mask` is the additive causal mask `[L, L]`.
    func callAsFunction(_ hidden: Tensor, mask: Tensor) -> Tensor {
        let normed = layerNorm1(hidden)
        let headDimension = hidden.shape[2] / heads
        let attended = BiasedAttention.callAsFunction(
            query: split(query(normed)), key: split(key(normed)), value: split(value(normed)), bias: mask,
            scale: 1 / Float(headDimension).squareRoot())
        let afterAttention = hidden + output(attended)
        let inner = fc1(layerNorm2(afterAttention))
        let activated: Tensor
        switch activation {
        case .quickGELU: activated = inner * (inner * 1.702).sigmoid()
        case .gelu: activated = inner.gelu()
        }
        return afterAttention + fc2(activated)
    }

    /// `[B, L, H·D]` → `[B, H, L, D]` (a view).
    private func split(_ x: Tensor) -> Tensor {
        x.reshaped([x.shape[0], x.shape[1], heads, x.shape[2] / heads]).permuted([0, 2, 1, 3])
    }
}
