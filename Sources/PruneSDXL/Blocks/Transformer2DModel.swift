import PruneTensor

/// The width of the units of one transformer block, overridable per module for pruned models.
public struct TransformerBlockStructure: Sendable, Equatable, Codable {
    /// Self-attention heads (`attn1`).
    public var selfAttentionHeads: Int
    /// Cross-attention heads (`attn2`).
    public var crossAttentionHeads: Int
    /// GEGLU hidden width (`ff`).
    public var feedForwardWidth: Int

    public init(selfAttentionHeads: Int, crossAttentionHeads: Int, feedForwardWidth: Int) {
        self.selfAttentionHeads = selfAttentionHeads
        self.crossAttentionHeads = crossAttentionHeads
        self.feedForwardWidth = feedForwardWidth
    }
}

/// diffusers' `BasicTransformerBlock` (`norm_type="layer_norm"`, GEGLU):
/// `h += attn1(norm1(h))`, `h += attn2(norm2(h), context)`, `h += ff(norm3(h))`.
public struct BasicTransformerBlock {
    public let norm1, norm2, norm3: LayerNorm
    public let selfAttention: Attention
    public let crossAttention: Attention
    public let feedForward: FeedForward

    public init(
        _ scope: WeightScope, dimension: Int, headDimension: Int, crossAttentionDimension: Int,
        structure: TransformerBlockStructure, epsilon: Float = 1e-5
    ) {
        norm1 = LayerNorm(scope.scoped("norm1"), dimension: dimension, epsilon: epsilon)
        selfAttention = Attention(
            scope.scoped("attn1"), queryDimension: dimension, heads: structure.selfAttentionHeads, headDimension: headDimension)
        norm2 = LayerNorm(scope.scoped("norm2"), dimension: dimension, epsilon: epsilon)
        crossAttention = Attention(
            scope.scoped("attn2"), queryDimension: dimension, contextDimension: crossAttentionDimension,
            heads: structure.crossAttentionHeads, headDimension: headDimension)
        norm3 = LayerNorm(scope.scoped("norm3"), dimension: dimension, epsilon: epsilon)
        feedForward = FeedForward(scope.scoped("ff"), dimension: dimension, innerDimension: structure.feedForwardWidth, activation: .geglu)
    }

    /// `[B, L, C]`, context `[B, S, Cctx]` → `[B, L, C]`.
    public func callAsFunction(_ x: Tensor, context: Tensor, masks: UnitMasks) -> Tensor {
        var h = x + selfAttention(norm1(x), masks: masks)
        h = h + crossAttention(norm2(h), context: context, masks: masks)
        return h + feedForward(norm3(h), masks: masks)
    }
}

/// diffusers' `Transformer2DModel` for continuous inputs: GroupNorm (ε 1e-6), `proj_in`, a stack of
/// ``BasicTransformerBlock``s over the `H·W` tokens (row-major), `proj_out`, plus the residual.
/// `proj_in`/`proj_out` are Linear with `use_linear_projection`, else 1×1 convolutions.
public struct Transformer2DModel {
    public let norm: GroupNorm
    public let projectInLinear, projectOutLinear: Linear?
    public let projectInConvolution, projectOutConvolution: Conv2d?
    public let blocks: [BasicTransformerBlock]

    public init(
        _ scope: WeightScope, channels: Int, headDimension: Int, crossAttentionDimension: Int, groups: Int,
        useLinearProjection: Bool, blockStructures: [TransformerBlockStructure]
    ) {
        norm = GroupNorm(scope.scoped("norm"), groups: groups, channels: channels, epsilon: 1e-6)
        if useLinearProjection {
            projectInLinear = Linear(scope.scoped("proj_in"), inFeatures: channels, outFeatures: channels)
            projectInConvolution = nil
        } else {
            projectInConvolution = Conv2d(scope.scoped("proj_in"), inChannels: channels, outChannels: channels, kernelSize: 1)
            projectInLinear = nil
        }
        let blockScope = scope.scoped("transformer_blocks")
        blocks = blockStructures.enumerated().map { index, structure in
            BasicTransformerBlock(
                blockScope.scoped(index), dimension: channels, headDimension: headDimension,
                crossAttentionDimension: crossAttentionDimension, structure: structure)
        }
        if useLinearProjection {
            projectOutLinear = Linear(scope.scoped("proj_out"), inFeatures: channels, outFeatures: channels)
            projectOutConvolution = nil
        } else {
            projectOutConvolution = Conv2d(scope.scoped("proj_out"), inChannels: channels, outChannels: channels, kernelSize: 1)
            projectOutLinear = nil
        }
    }

    /// `[N, C, H, W]`, context `[N, S, Cctx]` → `[N, C, H, W]`.
    public func callAsFunction(_ x: Tensor, context: Tensor, masks: UnitMasks) -> Tensor {
        let (batch, channels, height, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        var h = norm(x)
        if let projectInConvolution { h = projectInConvolution(h) }
        h = h.permuted([0, 2, 3, 1]).reshaped([batch, height * width, channels])
        if let projectInLinear { h = projectInLinear(h) }
        for block in blocks { h = block(h, context: context, masks: masks) }
        if let projectOutLinear { h = projectOutLinear(h) }
        h = h.reshaped([batch, height, width, channels]).permuted([0, 3, 1, 2])
        if let projectOutConvolution { h = projectOutConvolution(h.contiguous()) }
        return h + x
    }
}
