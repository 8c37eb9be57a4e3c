import PruneNN
import PruneTensor

/// The VAE decoder (`decoder.*`): `conv_in`, the mid block, one `UpDecoderBlock2D` per level (deepest
/// first, `layers_per_block + 1` resnets each), `conv_norm_out`, SiLU, `conv_out`.
///
/// This implementation matches: diffusers `Decoder` (`models/autoencoders/vae.py`) with `norm_type="group"`
/// (no `latent_embeds`).
public struct VAEDecoder {
    public let convIn: Conv2d
    public let midBlock: VAEMidBlock
    public let upBlocks: [UpDecoderBlock2D]
    public let convNormOut: GroupNorm
    public let convOut: Conv2d

    public init(_ scope: WeightScope, configuration c: AutoencoderKLConfiguration) {
        let reversed = Array(c.blockOutChannels.reversed())
        convIn = Conv2d(scope.scoped("conv_in"), inChannels: c.latentChannels, outChannels: reversed[0], kernelSize: 3, padding: 1)
        midBlock = VAEMidBlock(scope.scoped("mid_block"), channels: reversed[0], groups: c.normNumGroups, addAttention: c.midBlockAddAttention)
        upBlocks = reversed.indices.map { level in
            UpDecoderBlock2D(
                scope.scoped("up_blocks").scoped(level), inChannels: level == 0 ? reversed[0] : reversed[level - 1],
                outChannels: reversed[level], layers: c.layersPerBlock + 1, groups: c.normNumGroups,
                addUpsample: level < reversed.count - 1)
        }
        convNormOut = GroupNorm(scope.scoped("conv_norm_out"), groups: c.normNumGroups, channels: c.blockOutChannels[0], epsilon: 1e-6)
        convOut = Conv2d(scope.scoped("conv_out"), inChannels: c.blockOutChannels[0], outChannels: c.outChannels, kernelSize: 3, padding: 1)
    }

    /// `[B, latent_channels, h, w]` → `[B, out_channels, f·h, f·w]` with `f = 2^(levels−1)`.
    public func callAsFunction(_ latents: Tensor) -> Tensor {
        var h = midBlock(convIn(latents))
        for block in upBlocks { h = block(h) }
        return convOut(convNormOut(h).silu())
    }
}
