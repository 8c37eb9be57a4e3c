import PruneNN
import PruneTensor

/// diffusers' `FluxAttention` with `FluxAttnProcessor`: multi-head attention with per-head QK-RMSNorm
/// (ε 1e-6) and rotary position embedding, in two forms.
///
/// - **Joint** (double blocks): image projections `to_q/to_k/to_v`, text projections
///   `add_q_proj/add_k_proj/add_v_proj`, norms `norm_q/norm_k/norm_added_q/norm_added_k`; one softmax over
///   the joint sequence **text first, then image**; outputs `to_out.0` (image) and `to_add_out` (text).
/// - **Single** (`pre_only`, single blocks): `to_q/to_k/to_v`, `norm_q/norm_k`, no output projection;
///   returns the merged heads.
///
/// The head mask `[H]` under ``moduleKey`` (e.g. `transformer_blocks.0.attn`) multiplies each head's
/// attention output: before **both** `to_out.0` and `to_add_out` (joint), or before the caller's
/// concatenation with the MLP branch (single). A module with zero heads outputs zeros (so the
/// projections reduce to their biases).
///
/// This implementation matches: diffusers `transformer_flux.py` `FluxAttnProcessor.__call__`.
public struct FluxAttention {
    /// Every projection and norm of the attention with its width.
    public struct Shapes: Sendable, Equatable {
        public var dimension: Int
        public var heads: Int
        public var headDimension: Int
        /// Joint (double-block) attention with text projections and output projections.
        public var isJoint: Bool

        public init(dimension: Int, heads: Int, headDimension: Int, isJoint: Bool) {
            self.dimension = dimension
            self.heads = heads
            self.headDimension = headDimension
            self.isJoint = isJoint
        }

        /// `heads · headDimension`.
        public var innerDimension: Int { heads * headDimension }

        public var query: LinearShape { LinearShape("to_q", inFeatures: dimension, outFeatures: innerDimension) }
        public var key: LinearShape { LinearShape("to_k", inFeatures: dimension, outFeatures: innerDimension) }
        public var value: LinearShape { LinearShape("to_v", inFeatures: dimension, outFeatures: innerDimension) }
        public var queryNorm: NormShape { NormShape("norm_q", dimension: headDimension) }
        public var keyNorm: NormShape { NormShape("norm_k", dimension: headDimension) }
        public var addedQuery: LinearShape { LinearShape("add_q_proj", inFeatures: dimension, outFeatures: innerDimension) }
        public var addedKey: LinearShape { LinearShape("add_k_proj", inFeatures: dimension, outFeatures: innerDimension) }
        public var addedValue: LinearShape { LinearShape("add_v_proj", inFeatures: dimension, outFeatures: innerDimension) }
        public var addedQueryNorm: NormShape { NormShape("norm_added_q", dimension: headDimension) }
        public var addedKeyNorm: NormShape { NormShape("norm_added_k", dimension: headDimension) }
        public var output: LinearShape { LinearShape("to_out.0", inFeatures: innerDimension, outFeatures: dimension) }
        public var addedOutput: LinearShape { LinearShape("to_add_out", inFeatures: innerDimension, outFeatures: dimension) }
    }

    /// The text-stream half of a joint attention.
    public struct ContextProjections {
        public let toQuery, toKey, toValue: Linear
        public let normQuery, normKey: RMSNorm
        public let toOut: Linear
    }

    /// The module key, which also names the head mask.
    public let moduleKey: String
    public let shapes: Shapes
    public let toQuery, toKey, toValue: Linear
    public let normQuery, normKey: RMSNorm
    /// Image output projection `to_out.0` (joint only).
    public let toOut: Linear?
    /// Text projections and `to_add_out` (joint only).
    public let context: ContextProjections?

    /// QK-norm ε, as diffusers' `FluxAttention(eps=1e-6)`.
    public static let normEpsilon: Float = 1e-6

    public init(_ scope: WeightScope, _ shapes: Shapes) {
        moduleKey = scope.prefix
        self.shapes = shapes
        let eps = Self.normEpsilon
        toQuery = Linear(scope, shapes.query)
        toKey = Linear(scope, shapes.key)
        toValue = Linear(scope, shapes.value)
        normQuery = RMSNorm(scope, shapes.queryNorm, epsilon: eps)
        normKey = RMSNorm(scope, shapes.keyNorm, epsilon: eps)
        if shapes.isJoint {
            let addedQuery = Linear(scope, shapes.addedQuery)
            let addedKey = Linear(scope, shapes.addedKey)
            let addedValue = Linear(scope, shapes.addedValue)
            let addedQueryNorm = RMSNorm(scope, shapes.addedQueryNorm, epsilon: eps)
            let addedKeyNorm = RMSNorm(scope, shapes.addedKeyNorm, epsilon: eps)
            toOut = Linear(scope, shapes.output)
            context = ContextProjections(
                toQuery: addedQuery, toKey: addedKey, toValue: addedValue, normQuery: addedQueryNorm,
                normKey: addedKeyNorm, toOut: Linear(scope, shapes.addedOutput))
        } else {
            toOut = nil
            context = nil
        }
    }

    public var heads: Int { shapes.heads }
    public var headDimension: Int { shapes.headDimension }

    /// Joint attention over `[context; image]`.
    ///
    /// - Parameters:
    ///   - image: normalised image tokens `[B, N, C]`.
    ///   - context: normalised text tokens `[B, T, C]`.
    ///   - rotary: cos/sin `[T + N, D]` for the joint sequence (text first).
    ///   - masks: the head mask `[H]` under ``moduleKey`` if any.
    /// - Returns: the projected image `[B, N, C]` and text `[B, T, C]` attention outputs.
    public func callAsFunction(
        image: Tensor, context textTokens: Tensor, rotary: (cos: Tensor, sin: Tensor), masks: UnitMasks
    ) -> (image: Tensor, context: Tensor) {
        guard let context, let toOut else { preconditionFailure("\(moduleKey) is a single-stream attention") }
        let (textLength, imageLength) = (textTokens.shape[1], image.shape[1])
        let merged: Tensor
        if heads == 0 {
            merged = Tensor.zeros([image.shape[0], textLength + imageLength, 0])
        } else {
            let q = concatenate([headsNormalized(context.toQuery(textTokens), context.normQuery), headsNormalized(toQuery(image), normQuery)], axis: 1)
            let k = concatenate([headsNormalized(context.toKey(textTokens), context.normKey), headsNormalized(toKey(image), normKey)], axis: 1)
            let v = concatenate([perHead(context.toValue(textTokens)), perHead(toValue(image))], axis: 1)
            merged = attended(query: q, key: k, value: v, rotary: rotary, masks: masks)
        }
        let textOutput = merged.sliced(axis: 1, 0..<textLength)
        let imageOutput = merged.sliced(axis: 1, textLength..<(textLength + imageLength))
        return (toOut(imageOutput), context.toOut(textOutput))
    }

    /// Single-stream attention (no output projection).
    ///
    /// - Parameters:
    ///   - x: normalised tokens `[B, S, C]` (text then image).
    ///   - rotary: cos/sin `[S, D]`.
    ///   - masks: the head mask `[H]` under ``moduleKey`` if any.
    /// - Returns: the merged, masked heads `[B, S, H·D]`.
    public func callAsFunction(_ x: Tensor, rotary: (cos: Tensor, sin: Tensor), masks: UnitMasks) -> Tensor {
        if heads == 0 { return Tensor.zeros([x.shape[0], x.shape[1], 0]) }
        return attended(
            query: headsNormalized(toQuery(x), normQuery), key: headsNormalized(toKey(x), normKey), value: perHead(toValue(x)),
            rotary: rotary, masks: masks)
    }

    /// `[B, L, H·D]` → `[B, L, H, D]` (a view).
    private func perHead(_ x: Tensor) -> Tensor {
        x.reshaped([x.shape[0], x.shape[1], heads, headDimension])
    }

    /// `[B, L, H·D]` → RMS-normalised per head, `[B, L, H, D]`.
    private func headsNormalized(_ x: Tensor, _ norm: RMSNorm) -> Tensor { norm(perHead(x)) }

    /// RoPE on q and k, softmax attention, head merge and mask. Inputs `[B, S, H, D]`; output `[B, S, H·D]`.
    private func attended(query: Tensor, key: Tensor, value: Tensor, rotary: (cos: Tensor, sin: Tensor), masks: UnitMasks) -> Tensor {
        let q = applyRotaryEmbedding(query.permuted([0, 2, 1, 3]), cos: rotary.cos, sin: rotary.sin)
        let k = applyRotaryEmbedding(key.permuted([0, 2, 1, 3]), cos: rotary.cos, sin: rotary.sin)
        let v = value.permuted([0, 2, 1, 3])
        let merged = Heads.merge(scaledDotProductAttention(query: q, key: k, value: v))
        return Heads.masked(merged, by: masks[moduleKey], heads: heads)
    }
}
