import PruneTensor

/// diffusers' `ResnetBlock2D` with `time_embedding_norm="default"` (additive time injection).
///
/// `h = conv1(SiLU(norm1(x))) + time_emb_proj(SiLU(emb))`, `h = conv2(SiLU(norm2(h)))`,
/// `out = (shortcut(x) + h) / outputScaleFactor`; `conv_shortcut` (1×1) exists when channels change.
public struct ResnetBlock2D {
    public let norm1, norm2: GroupNorm
    public let conv1, conv2: Conv2d
    public let timeEmbeddingProjection: Linear?
    public let shortcut: Conv2d?
    public let outputScaleFactor: Float

    public init(
        _ scope: WeightScope, inChannels: Int, outChannels: Int, timeEmbeddingChannels: Int?, groups: Int,
        epsilon: Float, outputScaleFactor: Float = 1
    ) {
        norm1 = GroupNorm(scope.scoped("norm1"), groups: groups, channels: inChannels, epsilon: epsilon)
        conv1 = Conv2d(scope.scoped("conv1"), inChannels: inChannels, outChannels: outChannels, kernelSize: 3, padding: 1)
        timeEmbeddingProjection = timeEmbeddingChannels.map {
            Linear(scope.scoped("time_emb_proj"), inFeatures: $0, outFeatures: outChannels)
        }
        norm2 = GroupNorm(scope.scoped("norm2"), groups: groups, channels: outChannels, epsilon: epsilon)
        conv2 = Conv2d(scope.scoped("conv2"), inChannels: outChannels, outChannels: outChannels, kernelSize: 3, padding: 1)
        shortcut = inChannels == outChannels
            ? nil : Conv2d(scope.scoped("conv_shortcut"), inChannels: inChannels, outChannels: outChannels, kernelSize: 1)
        self.outputScaleFactor = outputScaleFactor
    }

    /// - Parameters:
    ///   - x: `[N, Cin, H, W]`.
    ///   - embedding: `[N, Ctemb]` (not yet activated).
    /// - Returns: `[N, Cout, H, W]`.
    public func callAsFunction(_ x: Tensor, embedding: Tensor?) -> Tensor {
        var h = conv1(norm1(x).silu())
        if let timeEmbeddingProjection, let embedding {
            let projected = timeEmbeddingProjection(embedding.silu())
            h = h + projected.reshaped([projected.shape[0], projected.shape[1], 1, 1])
        }
        h = conv2(norm2(h).silu())
        let residual = shortcut.map { $0(x) } ?? x
        let sum = residual + h
        return outputScaleFactor == 1 ? sum : sum / outputScaleFactor
    }
}

/// diffusers' `Downsample2D` with a convolution (`name="op"`, stored as `conv`): 3×3, stride 2, padding 1.
public struct Downsample2D {
    public let conv: Conv2d
    public init(_ scope: WeightScope, channels: Int, padding: Int = 1) {
        conv = Conv2d(scope.scoped("conv"), inChannels: channels, outChannels: channels, kernelSize: 3, stride: 2, padding: padding)
    }
    /// `[N, C, H, W]` → `[N, C, ⌈H/2⌉, ⌈W/2⌉]`.
    public func callAsFunction(_ x: Tensor) -> Tensor { conv(x) }
}

/// diffusers' `Upsample2D` with a convolution: nearest 2× then 3×3 conv, padding 1.
public struct Upsample2D {
    public let conv: Conv2d
    public init(_ scope: WeightScope, channels: Int) {
        conv = Conv2d(scope.scoped("conv"), inChannels: channels, outChannels: channels, kernelSize: 3, padding: 1)
    }
    /// `[N, C, H, W]` → `[N, C, 2H, 2W]`, or `[N, C, size.height, size.width]` when `size` is given
    /// (diffusers' `upsample_size`, used when the latent is not divisible by 2 per upsampler).
    public func callAsFunction(_ x: Tensor, size: (height: Int, width: Int)? = nil) -> Tensor {
        guard let size else { return conv(x.upsampledNearest2x()) }
        return conv(x.upsampledNearest(height: size.height, width: size.width))
    }
}
