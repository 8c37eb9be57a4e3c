import PruneTensor

/// How a unit's learnable logit λ becomes its mask value during learning.
///
/// This implementation matches: EcoDiff `src/sdib/hooks/attention_processor.py:masking_fn`, modes
/// `hard_discrete` (every shipped config) and `sigmoid`.
public enum MaskParametrization: Sendable, Equatable {
    /// A stochastic hard-concrete gate (EcoDiff's `hard_discrete`); see ``HardConcrete``.
    case hardConcrete(HardConcrete)
    /// The deterministic `m = sigmoid(λ)` (EcoDiff's `sigmoid`); noise draws are ignored.
    case sigmoid

    /// Whether a mask depends on noise draws.
    public var isStochastic: Bool {
        if case .hardConcrete = self { return true }
        return false
    }

    /// The mask of one module, built from tensor ops on `lambda` (recorded when the tape is on).
    ///
    /// - Parameters:
    ///   - lambda: `[n]` logits.
    ///   - uniform: `[n]` draws in `[0, 1)`; required by ``hardConcrete(_:)``, ignored by ``sigmoid``.
    /// - Returns: `[n]` mask values in `[0, 1]`.
    public func mask(_ lambda: Tensor, uniform: Tensor?) -> Tensor {
        switch self {
        case .hardConcrete(let gate):
            guard let uniform else { preconditionFailure("a hard-concrete mask needs uniform draws") }
            return gate.sample(lambda, uniform: uniform)
        case .sigmoid:
            return lambda.sigmoid()
        }
    }
}

/// The deterministic mask used to look at (or evaluate) the model while or after masks are learned.
///
/// EcoDiff itself evaluates and deploys **binarised** λ (`continues2binary`, `m = 1[λ > 0]`, to preview
/// during training; top-k or a threshold τ for the final mask), never a noise-free expectation, so
/// ``binarized(threshold:)`` with τ = 0 is the default. Plan construction (global top-k per unit kind)
/// belongs to the pruning plan, not here.
public enum EvaluationMask: Sendable, Equatable {
    /// `m = 1[λ > τ]`, with τ = 0 EcoDiff's `continues2binary` preview mask.
    case binarized(threshold: Float)
    /// The gate without noise: the hard-concrete gate at u = ½ (`clamp(sigmoid(λ/T)·(ζ − γ) + γ, 0, 1)`),
    /// or `sigmoid(λ)` for the sigmoid parametrisation. Not part of EcoDiff; for diagnostics.
    case noiseFreeGate

    /// EcoDiff's default preview mask, `1[λ > 0]`.
    public static let `default` = EvaluationMask.binarized(threshold: 0)
}
