import PruneNN
import PruneTensor

/// diffusers' `FluxTransformerBlock` (MMDiT double-stream block).
///
/// With `temb` modulating both streams through `norm1` / `norm1_context` (``AdaLayerNormZero``):
/// ```
/// (ox, oc) = attn(LN(x)(1+scale_msa)+shift_msa, LN(c)(1+c_scale_msa)+c_shift_msa)   # joint, text first
/// x += gate_msa · ox ;            x += gate_mlp · ff(LN(x)(1+scale_mlp)+shift_mlp)
/// c += c_gate_msa · oc ;          c += c_gate_mlp · ff_context(LN(c)(1+c_scale_mlp)+c_shift_mlp)
/// ```
/// Masks: `<key>.attn` `[heads]`, `<key>.ff` and `<key>.ff_context` `[FFN width]` (GELU-tanh activation
/// before `net.2`).
///
/// This implementation matches: diffusers `transformer_flux.py` `FluxTransformerBlock.forward`.
public struct FluxTransformerBlock {
    /// Every layer of the block with its width, from the model width, head dimension and unit widths.
    public struct Shapes: Sendable, Equatable {
        public var dimension: Int
        public var headDimension: Int
        /// Joint-attention heads (`attn`; the image and text projections keep the same heads).
        public var attentionHeads: Int
        /// Image-stream FFN hidden width (`ff`).
        public var feedForwardWidth: Int
        /// Text-stream FFN hidden width (`ff_context`).
        public var contextFeedForwardWidth: Int

        public init(dimension: Int, headDimension: Int, attentionHeads: Int, feedForwardWidth: Int, contextFeedForwardWidth: Int) {
            self.dimension = dimension
            self.headDimension = headDimension
            self.attentionHeads = attentionHeads
            self.feedForwardWidth = feedForwardWidth
            self.contextFeedForwardWidth = contextFeedForwardWidth
        }

        /// The block `moduleKey` (e.g. `transformer_blocks.3`) of `configuration`, with the widths `widths`
        /// gives its `attn`, `ff` and `ff_context` (the configuration's where it names none).
        public init(moduleKey: String, configuration: FluxConfiguration, widths: UnitWidths) {
            self.init(
                dimension: configuration.innerDimension, headDimension: configuration.headDimension,
                attentionHeads: widths.units(of: checkpointKey(moduleKey, "attn"), default: configuration.headCount),
                feedForwardWidth: widths.units(of: checkpointKey(moduleKey, "ff"), default: configuration.feedForwardWidth),
                contextFeedForwardWidth: widths.units(of: checkpointKey(moduleKey, "ff_context"), default: configuration.feedForwardWidth))
        }

        public var modulation: LinearShape { AdaLayerNormZero.linearShape(dimension: dimension) }
        public var attention: FluxAttention.Shapes {
            FluxAttention.Shapes(dimension: dimension, heads: attentionHeads, headDimension: headDimension, isJoint: true)
        }
        public var feedForward: FeedForwardShape {
            FeedForwardShape("ff", dimension: dimension, innerDimension: feedForwardWidth)
        }
        public var contextFeedForward: FeedForwardShape {
            FeedForwardShape("ff_context", dimension: dimension, innerDimension: contextFeedForwardWidth)
        }
    }

    public let moduleKey: String
    public let shapes: Shapes
    public let norm1, norm1Context: AdaLayerNormZero
    public let attention: FluxAttention
    public let feedForward, contextFeedForward: FeedForward
    /// LayerNorm ε of `norm2` / `norm2_context` (no affine).
    public let epsilon: Float = 1e-6

    public init(_ scope: WeightScope, _ shapes: Shapes) {
        moduleKey = scope.prefix
        self.shapes = shapes
        norm1 = AdaLayerNormZero(scope.scoped("norm1"), dimension: shapes.dimension)
        norm1Context = AdaLayerNormZero(scope.scoped("norm1_context"), dimension: shapes.dimension)
        attention = FluxAttention(scope.scoped("attn"), shapes.attention)
        feedForward = FeedForward(scope, shapes.feedForward)
        contextFeedForward = FeedForward(scope, shapes.contextFeedForward)
    }

    /// - Parameters:
    ///   - image: image tokens `[B, N, C]`.
    ///   - context: text tokens `[B, T, C]`.
    ///   - embedding: `temb` `[B, C]`.
    ///   - rotary: cos/sin `[T + N, D]`.
    ///   - masks: unit masks by module key.
    /// - Returns: the updated image `[B, N, C]` and text `[B, T, C]` streams.
    public func callAsFunction(
        image: Tensor, context: Tensor, embedding: Tensor, rotary: (cos: Tensor, sin: Tensor), masks: UnitMasks
    ) -> (image: Tensor, context: Tensor) {
        let m = norm1(image, embedding: embedding)
        let mc = norm1Context(context, embedding: embedding)
        let attended = attention(image: m.normalized, context: mc.normalized, rotary: rotary, masks: masks)

        var x = image + m.gateAttention * attended.image
        let nx = layerNorm(x, epsilon: epsilon) * (m.scaleFeedForward + 1) + m.shiftFeedForward
        x = x + m.gateFeedForward * fluxFeedForward(feedForward, nx, masks: masks)

        var c = context + mc.gateAttention * attended.context
        let nc = layerNorm(c, epsilon: epsilon) * (mc.scaleFeedForward + 1) + mc.shiftFeedForward
        c = c + mc.gateFeedForward * fluxFeedForward(contextFeedForward, nc, masks: masks)
        return (x, c)
    }
}

/// A GELU-tanh ``FeedForward`` that also accepts a hidden width of 0 (every neuron pruned): the output is
/// then `net.2`'s bias.
func fluxFeedForward(_ feedForward: FeedForward, _ x: Tensor, masks: UnitMasks) -> Tensor {
    if feedForward.innerDimension > 0 { return feedForward(x, masks: masks) }
    return feedForward.projectOut(Tensor.zeros(Array(x.shape.dropLast()) + [0]))
}
