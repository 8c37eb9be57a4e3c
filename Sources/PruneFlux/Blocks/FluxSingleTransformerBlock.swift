import PruneNN
import PruneTensor

/// diffusers' `FluxSingleTransformerBlock`: parallel attention and MLP on the joint sequence.
///
/// ```
/// shift, scale, gate = chunk3(norm.linear(SiLU(temb)))
/// n = LN(h)(1+scale) + shift
/// h += gate · proj_out([attn(n) · m_heads | GELU_tanh(proj_mlp(n)) · m_mlp])
/// ```
/// Masks: `<key>.attn` `[heads]` (the merged attention output before the concatenation) and `<key>.mlp`
/// `[mlp width]` (the activation before the concatenation).
///
/// This implementation matches: diffusers `transformer_flux.py` `FluxSingleTransformerBlock.forward`
/// (which concatenates and splits the two streams inside each block; here the caller keeps them joined).
public struct FluxSingleTransformerBlock {
    /// Every layer of the block with its width.
    public struct Shapes: Sendable, Equatable {
        public var dimension: Int
        public var headDimension: Int
        /// Attention heads (`attn`).
        public var attentionHeads: Int
        /// MLP hidden width (`proj_mlp` rows, the last columns of `proj_out`; mask `mlp`).
        public var mlpWidth: Int

        public init(dimension: Int, headDimension: Int, attentionHeads: Int, mlpWidth: Int) {
            self.dimension = dimension
            self.headDimension = headDimension
            self.attentionHeads = attentionHeads
            self.mlpWidth = mlpWidth
        }

        /// The block `moduleKey` (e.g. `single_transformer_blocks.5`) of `configuration`, with the widths
        /// `widths` gives its `attn` and `mlp` (the configuration's where it names none).
        public init(moduleKey: String, configuration: FluxConfiguration, widths: UnitWidths) {
            self.init(
                dimension: configuration.innerDimension, headDimension: configuration.headDimension,
                attentionHeads: widths.units(of: checkpointKey(moduleKey, "attn"), default: configuration.headCount),
                mlpWidth: widths.units(of: checkpointKey(moduleKey, "mlp"), default: configuration.singleMLPWidth))
        }

        public var modulation: LinearShape { AdaLayerNormZeroSingle.linearShape(dimension: dimension) }
        public var attention: FluxAttention.Shapes {
            FluxAttention.Shapes(dimension: dimension, heads: attentionHeads, headDimension: headDimension, isJoint: false)
        }
        public var mlp: LinearShape { LinearShape("proj_mlp", inFeatures: dimension, outFeatures: mlpWidth) }
        /// Input columns `[0, heads·D)` take the attention output, the rest the MLP activation.
        public var output: LinearShape {
            LinearShape("proj_out", inFeatures: attention.innerDimension + mlpWidth, outFeatures: dimension)
        }
    }

    public let moduleKey: String
    public let shapes: Shapes
    public let norm: AdaLayerNormZeroSingle
    public let projectMLP: Linear
    public let attention: FluxAttention
    public let projectOut: Linear

    public init(_ scope: WeightScope, _ shapes: Shapes) {
        moduleKey = scope.prefix
        self.shapes = shapes
        norm = AdaLayerNormZeroSingle(scope.scoped("norm"), dimension: shapes.dimension)
        projectMLP = Linear(scope, shapes.mlp)
        attention = FluxAttention(scope.scoped("attn"), shapes.attention)
        projectOut = Linear(scope, shapes.output)
    }

    /// The MLP mask's module key, `<block key>.mlp`.
    public var mlpModuleKey: String { checkpointKey(moduleKey, "mlp") }

    /// - Parameters:
    ///   - hidden: the joint sequence `[B, T + N, C]` (text first).
    ///   - embedding: `temb` `[B, C]`.
    ///   - rotary: cos/sin `[T + N, D]`.
    ///   - masks: unit masks by module key.
    /// - Returns: `[B, T + N, C]`.
    public func callAsFunction(_ hidden: Tensor, embedding: Tensor, rotary: (cos: Tensor, sin: Tensor), masks: UnitMasks) -> Tensor {
        let (normalized, gate) = norm(hidden, embedding: embedding)
        var activation = projectMLP(normalized).gelu(approximateWithTanh: true)
        if let mask = masks[mlpModuleKey] {
            precondition(mask.shape == [shapes.mlpWidth], "MLP mask for \(mlpModuleKey) must be [\(shapes.mlpWidth)], got \(mask.shape)")
            activation = activation * mask
        }
        let attended = attention(normalized, rotary: rotary, masks: masks)
        let joined = concatenate([attended, activation], axis: -1)
        return hidden + gate * projectOut(joined)
    }
}
