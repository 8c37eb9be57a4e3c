import PruneNN
import PruneTensor

/// diffusers' `BasicTransformerBlock` (`norm_type="layer_norm"`, GEGLU):
/// `h += attn1(norm1(h))`, `h += attn2(norm2(h), context)`, `h += ff(norm3(h))`.
///
/// Its units — `attn1` and `attn2` heads, `ff` GEGLU neurons — have the widths ``UnitWidths`` gives the
/// module keys `<block>.attn1`, `<block>.attn2` and `<block>.ff`, the configuration's otherwise.
public struct BasicTransformerBlock {
    public let norm1, norm2, norm3: LayerNorm
    public let selfAttention: Attention
    public let crossAttention: Attention
    public let feedForward: FeedForward

    /// - Parameters:
    ///   - heads: the configuration's heads per attention (`dimension / headDimension` unpruned).
    ///   - widths: kept units of pruned modules; the GEGLU width defaults to `4·dimension`.
    public init(
        _ scope: WeightScope, dimension: Int, headDimension: Int, heads: Int, crossAttentionDimension: Int,
        widths: UnitWidths, epsilon: Float = 1e-5
    ) {
        norm1 = LayerNorm(scope.scoped("norm1"), dimension: dimension, epsilon: epsilon)
        selfAttention = Attention(
            scope.scoped("attn1"), queryDimension: dimension, heads: widths.units(of: scope.key("attn1"), default: heads),
            headDimension: headDimension)
        norm2 = LayerNorm(scope.scoped("norm2"), dimension: dimension, epsilon: epsilon)
        crossAttention = Attention(
            scope.scoped("attn2"), queryDimension: dimension, contextDimension: crossAttentionDimension,
            heads: widths.units(of: scope.key("attn2"), default: heads), headDimension: headDimension)
        norm3 = LayerNorm(scope.scoped("norm3"), dimension: dimension, epsilon: epsilon)
        feedForward = FeedForward(
            scope.scoped("ff"), dimension: dimension, innerDimension: widths.units(of: scope.key("ff"), default: 4 * dimension),
            activation: .geglu)
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
/// `proj_in`/`proj_out` are Linear with `use_linear_projection`, else 1×1 convolutions. With no blocks (a
/// block-pruned export, diffusers' `num_layers=0`) it is `proj_out(proj_in(norm(x))) + x`.
public struct Transformer2DModel {
    public let norm: GroupNorm
    public let projectInLinear, projectOutLinear: Linear?
    public let projectInConvolution, projectOutConvolution: Conv2d?
    public let blocks: [BasicTransformerBlock]
    /// The module key of the block list (`<scope>.transformer_blocks`), whose mask `[blocks]` scales each block's
    /// residual contribution (``UnitMasks/block(_:index:input:output:)``).
    public let blockListKey: String

    /// - Parameters:
    ///   - depth: the number of ``BasicTransformerBlock``s (`transformer_blocks.0..<depth`).
    ///   - heads: the configuration's heads per attention.
    ///   - widths: kept units of pruned modules.
    public init(
        _ scope: WeightScope, channels: Int, headDimension: Int, heads: Int, crossAttentionDimension: Int, groups: Int,
        useLinearProjection: Bool, depth: Int, widths: UnitWidths
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
        blockListKey = blockScope.prefix
        blocks = (0..<depth).map { index in
            BasicTransformerBlock(
                blockScope.scoped(index), dimension: channels, headDimension: headDimension, heads: heads,
                crossAttentionDimension: crossAttentionDimension, widths: widths)
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
        for (index, block) in blocks.enumerated() {
            h = masks.block(blockListKey, index: index, input: h, output: block(h, context: context, masks: masks))
        }
        if let projectOutLinear { h = projectOutLinear(h) }
        h = h.reshaped([batch, height, width, channels]).permuted([0, 3, 1, 2])
        if let projectOutConvolution { h = projectOutConvolution(h.contiguous()) }
        return h + x
    }
}
