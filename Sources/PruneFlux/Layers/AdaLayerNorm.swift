import PruneNN
import PruneTensor

// Adaptive LayerNorms of the FLUX DiT: a Linear on SiLU(temb) produces per-sample shift/scale/gate vectors
// that modulate a parameter-free LayerNorm (ε 1e-6). This implementation matches diffusers
// `normalization.py`: `AdaLayerNormZero`, `AdaLayerNormZeroSingle`, `AdaLayerNormContinuous`.

/// `LN(x) · (1 + scale) + shift` with `x` `[B, L, C]` and `shift`, `scale` `[B, 1, C]`.
func modulated(_ normalized: Tensor, shift: Tensor, scale: Tensor) -> Tensor {
    normalized * (scale + 1) + shift
}

/// The modulation Linear's output `[B, k·C]` split into `k` vectors, each `[B, 1, C]` so they broadcast
/// over the sequence.
func modulationChunks(_ projected: Tensor, count: Int) -> [Tensor] {
    let batch = projected.shape[0]
    return projected.chunked(count, axis: -1).map { $0.reshaped([batch, 1, -1]) }
}

/// diffusers' `AdaLayerNormZero` (FLUX double-block `norm1` / `norm1_context`).
///
/// `linear(SiLU(temb))` `[B, 6C]` = `[shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp]`;
/// the output is `LN(x)·(1 + scale_msa) + shift_msa` plus the four vectors the block uses later.
/// Key: `linear` (`[6C, C]`, bias).
public struct AdaLayerNormZero {
    /// The normalised input and the modulation vectors still needed by the block, each `[B, 1, C]`.
    public struct Output {
        /// `LN(x)·(1 + scale_msa) + shift_msa`, `[B, L, C]`.
        public let normalized: Tensor
        public let gateAttention: Tensor
        public let shiftFeedForward: Tensor
        public let scaleFeedForward: Tensor
        public let gateFeedForward: Tensor
    }

    /// The shape of the modulation Linear for width `dimension`.
    public static func linearShape(dimension: Int) -> LinearShape {
        LinearShape("linear", inFeatures: dimension, outFeatures: 6 * dimension)
    }

    public let linear: Linear
    public let epsilon: Float

    public init(_ scope: WeightScope, dimension: Int, epsilon: Float = 1e-6) {
        linear = Linear(scope, Self.linearShape(dimension: dimension))
        self.epsilon = epsilon
    }

    /// - Parameters:
    ///   - x: `[B, L, C]`.
    ///   - embedding: the conditioning vector `temb` `[B, C]` (SiLU is applied here).
    public func callAsFunction(_ x: Tensor, embedding: Tensor) -> Output {
        let m = modulationChunks(linear(embedding.silu()), count: 6)
        let normalized = modulated(layerNorm(x, epsilon: epsilon), shift: m[0], scale: m[1])
        return Output(normalized: normalized, gateAttention: m[2], shiftFeedForward: m[3], scaleFeedForward: m[4], gateFeedForward: m[5])
    }
}

/// diffusers' `AdaLayerNormZeroSingle` (FLUX single-block `norm`).
///
/// `linear(SiLU(temb))` `[B, 3C]` = `[shift, scale, gate]`; output `LN(x)·(1 + scale) + shift` and `gate`.
/// Key: `linear` (`[3C, C]`, bias).
public struct AdaLayerNormZeroSingle {
    public static func linearShape(dimension: Int) -> LinearShape {
        LinearShape("linear", inFeatures: dimension, outFeatures: 3 * dimension)
    }

    public let linear: Linear
    public let epsilon: Float

    public init(_ scope: WeightScope, dimension: Int, epsilon: Float = 1e-6) {
        linear = Linear(scope, Self.linearShape(dimension: dimension))
        self.epsilon = epsilon
    }

    /// - Parameters:
    ///   - x: `[B, L, C]`.
    ///   - embedding: `temb` `[B, C]`.
    /// - Returns: the normalised `[B, L, C]` and the gate `[B, 1, C]`.
    public func callAsFunction(_ x: Tensor, embedding: Tensor) -> (normalized: Tensor, gate: Tensor) {
        let m = modulationChunks(linear(embedding.silu()), count: 3)
        return (modulated(layerNorm(x, epsilon: epsilon), shift: m[0], scale: m[1]), m[2])
    }
}

/// diffusers' `AdaLayerNormContinuous` as FLUX's `norm_out` uses it (LayerNorm without affine, ε 1e-6).
///
/// `linear(SiLU(temb))` `[B, 2C]` = **`[scale, shift]`** (scale first, unlike every other FLUX adaLN);
/// output `LN(x)·(1 + scale) + shift`. Key: `linear` (`[2C, Ccond]`, bias).
public struct AdaLayerNormContinuous {
    public static func linearShape(dimension: Int, conditioningDimension: Int) -> LinearShape {
        LinearShape("linear", inFeatures: conditioningDimension, outFeatures: 2 * dimension)
    }

    public let linear: Linear
    public let epsilon: Float

    public init(_ scope: WeightScope, dimension: Int, conditioningDimension: Int, epsilon: Float = 1e-6) {
        linear = Linear(scope, Self.linearShape(dimension: dimension, conditioningDimension: conditioningDimension))
        self.epsilon = epsilon
    }

    /// `[B, L, C]`, `temb` `[B, Ccond]` → `[B, L, C]`.
    public func callAsFunction(_ x: Tensor, embedding: Tensor) -> Tensor {
        let m = modulationChunks(linear(embedding.silu()), count: 2)
        return modulated(layerNorm(x, epsilon: epsilon), shift: m[1], scale: m[0])
    }
}
