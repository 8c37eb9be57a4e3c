import PruneNN
import PruneTensor

/// The VAE encoder (`encoder.*`): `conv_in`, one `DownEncoderBlock2D` per level, the mid block,
/// `conv_norm_out`, SiLU, `conv_out` to `2 · latent_channels` (mean and log-variance, `double_z`).
///
/// This implementation matches: diffusers `Encoder` (`models/autoencoders/vae.py`) with `double_z=True`.
public struct VAEEncoder {
    public let convIn: Conv2d
    public let downBlocks: [DownEncoderBlock2D]
    public let midBlock: VAEMidBlock
    public let convNormOut: GroupNorm
    public let convOut: Conv2d

    public init(_ scope: WeightScope, configuration c: AutoencoderKLConfiguration) {
        let widths = c.blockOutChannels
        convIn = Conv2d(scope.scoped("conv_in"), inChannels: c.inChannels, outChannels: widths[0], kernelSize: 3, padding: 1)
        downBlocks = widths.indices.map { level in
            DownEncoderBlock2D(
                scope.scoped("down_blocks").scoped(level), inChannels: level == 0 ? widths[0] : widths[level - 1],
                outChannels: widths[level], layers: c.layersPerBlock, groups: c.normNumGroups,
                addDownsample: level < widths.count - 1)
        }
        midBlock = VAEMidBlock(scope.scoped("mid_block"), channels: widths[widths.count - 1], groups: c.normNumGroups, addAttention: c.midBlockAddAttention)
        convNormOut = GroupNorm(scope.scoped("conv_norm_out"), groups: c.normNumGroups, channels: widths[widths.count - 1], epsilon: 1e-6)
        convOut = Conv2d(
            scope.scoped("conv_out"), inChannels: widths[widths.count - 1], outChannels: 2 * c.latentChannels, kernelSize: 3, padding: 1)
    }

    /// `[B, in_channels, H, W]` → `[B, 2·latent_channels, H/f, W/f]` with `f = 2^(levels−1)`.
    public func callAsFunction(_ image: Tensor) -> Tensor {
        var h = convIn(image)
        for block in downBlocks { h = block(h) }
        h = midBlock(h)
        return convOut(convNormOut(h).silu())
    }
}
