import PruneNN
import PruneTensor

/// The encoder's downsampler: diffusers' `Downsample2D` with `padding=0` — zero-pad one row at the bottom
/// and one column at the right, then a 3×3 stride-2 convolution without padding. Key `conv.{weight,bias}`.
///
/// This implementation matches: diffusers `Downsample2D.forward` (`downsampling.py`) with `use_conv=True,
/// padding=0`: `F.pad(x, (0, 1, 0, 1))`, then `conv` (stride 2).
public struct VAEDownsample {
    public let conv: Conv2d
    public init(_ scope: WeightScope, channels: Int) {
        conv = Conv2d(scope.scoped("conv"), inChannels: channels, outChannels: channels, kernelSize: 3, stride: 2, padding: 0)
    }
    /// `[N, C, H, W]` → `[N, C, ⌊H/2⌋, ⌊W/2⌋]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv(x.padded([(0, 0), (0, 0), (0, 1), (0, 1)]))
    }
}

/// diffusers' `DownEncoderBlock2D`: `resnets.0…n−1` (no time embedding, eps 1e-6), then
/// `downsamplers.0` on every level but the last.
public struct DownEncoderBlock2D {
    public let resnets: [ResnetBlock2D]
    public let downsampler: VAEDownsample?

    public init(_ scope: WeightScope, inChannels: Int, outChannels: Int, layers: Int, groups: Int, addDownsample: Bool) {
        resnets = (0..<layers).map { index in
            ResnetBlock2D(
                scope.scoped("resnets").scoped(index), inChannels: index == 0 ? inChannels : outChannels,
                outChannels: outChannels, timeEmbeddingChannels: nil, groups: groups, epsilon: 1e-6)
        }
        downsampler = addDownsample ? VAEDownsample(scope.scoped("downsamplers.0"), channels: outChannels) : nil
    }

    /// `[N, Cin, H, W]` → `[N, Cout, H/2, W/2]` (or `[N, Cout, H, W]` without a downsampler).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        for resnet in resnets { h = resnet(h, embedding: nil) }
        return downsampler.map { $0(h) } ?? h
    }
}

/// diffusers' `UpDecoderBlock2D`: `resnets.0…n−1` (n = layers_per_block + 1), then `upsamplers.0`
/// (nearest 2×, 3×3 conv) on every level but the last.
public struct UpDecoderBlock2D {
    public let resnets: [ResnetBlock2D]
    public let upsampler: Upsample2D?

    public init(_ scope: WeightScope, inChannels: Int, outChannels: Int, layers: Int, groups: Int, addUpsample: Bool) {
        resnets = (0..<layers).map { index in
            ResnetBlock2D(
                scope.scoped("resnets").scoped(index), inChannels: index == 0 ? inChannels : outChannels,
                outChannels: outChannels, timeEmbeddingChannels: nil, groups: groups, epsilon: 1e-6)
        }
        upsampler = addUpsample ? Upsample2D(scope.scoped("upsamplers.0"), channels: outChannels) : nil
    }

    /// `[N, Cin, H, W]` → `[N, Cout, 2H, 2W]` (or `[N, Cout, H, W]` without an upsampler).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        for resnet in resnets { h = resnet(h, embedding: nil) }
        return upsampler.map { $0(h) } ?? h
    }
}

/// diffusers' `UNetMidBlock2D` as the VAE builds it: `resnets.0`, then (`attentions.0`, `resnets.1`); the
/// attention is absent when `mid_block_add_attention` is false.
public struct VAEMidBlock {
    public let resnets: [ResnetBlock2D]
    public let attention: VAEAttention?

    public init(_ scope: WeightScope, channels: Int, groups: Int, addAttention: Bool) {
        resnets = (0..<2).map { index in
            ResnetBlock2D(
                scope.scoped("resnets").scoped(index), inChannels: channels, outChannels: channels,
                timeEmbeddingChannels: nil, groups: groups, epsilon: 1e-6)
        }
        attention = addAttention ? VAEAttention(scope.scoped("attentions.0"), channels: channels, groups: groups) : nil
    }

    /// `[N, C, H, W]` → `[N, C, H, W]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = resnets[0](x, embedding: nil)
        if let attention { h = attention(h) }
        return resnets[1](h, embedding: nil)
    }
}
