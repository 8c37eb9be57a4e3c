import PruneTensor

/// The sparsity regulariser R(λ) of EcoDiff's objective `L = MSE + β·R`.
///
/// R is a sum over unit kinds (attention heads, FFN neurons, modulation outputs) of the mean, over the
/// modules of that kind, of a per-module term:
///
/// ```
/// R = Σ_kinds (1/L_kind) · Σ_{modules l of the kind} r(λ_l)
/// expectedL0:  r(λ) = Σ_units sigmoid(λ − T·ln(−γ/ζ))       (reg 0; a sum per module, not a mean)
/// l1Lambda:    r(λ) = (1/n) Σ_units |λ|                      (reg 1, lambda_reg false; SDXL)
/// l1Sigmoid:   r(λ) = (1/n) Σ_units sigmoid(a·λ + b)         (reg 1, lambda_reg true, a 0.4, b 1; FLUX)
/// ```
///
/// This implementation matches: EcoDiff `src/sdib/utils/utils.py:calculate_reg_loss` and
/// `l0_complexity_loss`, and `scripts/train.py:pruning_loss` (`R_attn + R_ffn`). The official code drops
/// the FLUX norm term by accident (it is computed after the loss is formed); here every kind in
/// `kinds` counts, all of them by default.
public enum MaskPenalty: Sendable, Equatable {
    /// The expected number of non-zero hard-concrete gates, `Σ sigmoid(λ − T·ln(−γ/ζ))` per module.
    case expectedL0(HardConcrete)
    /// The L1 norm of λ per unit, `mean |λ|` per module (EcoDiff's SDXL setting).
    case l1Lambda
    /// The L1 norm of the bounded `sigmoid(scale·λ + shift)` per unit (EcoDiff's FLUX setting: 0.4, 1).
    case l1Sigmoid(scale: Float, shift: Float)

    /// EcoDiff's FLUX regulariser, `mean sigmoid(0.4·λ + 1)` per module.
    public static let fluxSigmoid = MaskPenalty.l1Sigmoid(scale: 0.4, shift: 1)

    /// The per-module term r(λ). `[n]` → scalar, recorded.
    public func moduleTerm(_ lambda: Tensor) -> Tensor {
        switch self {
        case .expectedL0(let gate): gate.probabilityNonZero(lambda).sum()
        case .l1Lambda: lambda.abs().mean()
        case .l1Sigmoid(let scale, let shift): (lambda * scale + shift).sigmoid().mean()
        }
    }

    /// R over the modules of `masks` whose kind is in `kinds`. A scalar, recorded when the tape is on.
    public func callAsFunction(_ masks: MaskSet, kinds: Set<UnitKind> = Set(UnitKind.allCases)) -> Tensor {
        let terms = kindTerms(masks, kinds: kinds).map(\.term)
        return terms.dropFirst().reduce(terms.first ?? Tensor(scalar: 0)) { $0 + $1 }
    }

    /// Each kind's term `(1/L_kind) Σ_{modules l of the kind} r(λ_l)`, for the kinds in `kinds` that `masks` has,
    /// in ``UnitKind`` order. Scalars, recorded when the tape is on.
    public func kindTerms(_ masks: MaskSet, kinds: Set<UnitKind>) -> [(kind: UnitKind, term: Tensor)] {
        UnitKind.allCases.compactMap { kind in
            let layers = masks.lambdas(of: kind)
            guard kinds.contains(kind), !layers.isEmpty else { return nil }
            var kindSum = moduleTerm(layers[0].lambda)
            for layer in layers.dropFirst() { kindSum = kindSum + moduleTerm(layer.lambda) }
            return (kind, kindSum * (1 / Float(layers.count)))
        }
    }
}
