import PruneNN
import PruneTensor

/// The VAE mid block's spatial self-attention: diffusers' `Attention` as `UNetMidBlock2D` builds it for
/// `AutoencoderKL` (one head of width C over the H·W pixels, GroupNorm first, biased q/k/v, residual,
/// `rescale_output_factor` 1).
///
/// `h = GroupNorm(x)` viewed as tokens `[B, H·W, C]`; `out = to_out.0(softmax(q kᵀ / √C) v)`, back to
/// `[B, C, H, W]`, plus `x`. Keys: `group_norm.{weight,bias}` `[C]`, `to_q/to_k/to_v/to_out.0.weight` `[C, C]`
/// and `.bias` `[C]`.
///
/// This implementation matches: diffusers `Attention` with `AttnProcessor2_0` (`attention_processor.py`)
/// as `UNetMidBlock2D` configures it (`heads = C / attention_head_dim = 1`, `eps 1e-6`, `residual_connection`,
/// `bias=True`). `upcast_softmax` changes nothing here: PruneVAE computes in float32 throughout.
/// Memory: the score matrix is `(H·W)²` floats (SDXL at 1024² px: the 128×128 latent, 1 GiB).
public struct VAEAttention {
    public let groupNorm: GroupNorm
    public let toQuery, toKey, toValue, toOut: Linear
    public let heads: Int

    public init(_ scope: WeightScope, channels: Int, groups: Int, heads: Int = 1) {
        groupNorm = GroupNorm(scope.scoped("group_norm"), groups: groups, channels: channels, epsilon: 1e-6)
        toQuery = Linear(scope.scoped("to_q"), inFeatures: channels, outFeatures: channels)
        toKey = Linear(scope.scoped("to_k"), inFeatures: channels, outFeatures: channels)
        toValue = Linear(scope.scoped("to_v"), inFeatures: channels, outFeatures: channels)
        toOut = Linear(scope.scoped("to_out.0"), inFeatures: channels, outFeatures: channels)
        self.heads = heads
    }

    /// `[B, C, H, W]` → `[B, C, H, W]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let (batch, channels, height, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let tokens = groupNorm(x).reshaped([batch, channels, height * width]).transposed(1, 2)
        let q = Heads.split(toQuery(tokens), heads: heads)
        let k = Heads.split(toKey(tokens), heads: heads)
        let v = Heads.split(toValue(tokens), heads: heads)
        let attended = toOut(Heads.merge(scaledDotProductAttention(query: q, key: k, value: v)))
        return attended.transposed(1, 2).reshaped([batch, channels, height, width]) + x
    }
}
