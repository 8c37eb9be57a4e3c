import Foundation
import PruneTensor

/// The hard-concrete gate EcoDiff puts on every unit: one learnable logit λ per unit, a bounded logistic
/// noise sample, a temperature-scaled sigmoid stretched to `(γ, ζ)` and clamped to `[0, 1]`.
///
/// ```
/// n = log(u + δ) − log(1 − u + δ)                  u ~ U(0, 1), so |n| ≤ ln((1 + δ)/δ)
/// m = clamp(sigmoid((n + λ) / T) · (ζ − γ) + γ, 0, 1)
/// ```
///
/// δ is not a numerical epsilon: it bounds the logistic noise (SDXL δ = 0.5 → |n| ≤ 1.099; FLUX δ = 0.1 →
/// |n| ≤ 2.398). With the defaults the gate is exactly 1 once λ + n ≥ T·ln 11 ≈ 1.990 and exactly 0 once
/// λ + n ≤ −1.990; only in between does the gradient reach λ.
///
/// This implementation matches: EcoDiff `src/sdib/utils/utils.py:hard_concrete_distribution` and
/// `l0_complexity_loss` (YaNgZhAnG-V5/EcoDiff), after Louizos, Welling & Kingma, "Learning Sparse Neural
/// Networks through L0 Regularization" (2018).
public struct HardConcrete: Sendable, Equatable, Codable {
    /// T, the sigmoid temperature (`beta` in EcoDiff's code): 0.83.
    public var temperature: Float
    /// γ, the lower end of the stretch interval (`gamma`): −0.1.
    public var stretchLower: Float
    /// ζ, the upper end of the stretch interval (`eta`): 1.1.
    public var stretchUpper: Float
    /// δ, the bound on the logistic noise (`trainer.masking_eps`): SDXL 0.5, FLUX 0.1.
    public var noiseBound: Float

    public init(noiseBound: Float, temperature: Float = 0.83, stretchLower: Float = -0.1, stretchUpper: Float = 1.1) {
        precondition(noiseBound > 0, "the hard-concrete noise bound δ must be positive, got \(noiseBound)")
        precondition(temperature > 0, "the hard-concrete temperature must be positive, got \(temperature)")
        precondition(stretchLower < 0 && stretchUpper > 1, "the stretch interval must contain [0, 1]")
        self.temperature = temperature
        self.stretchLower = stretchLower
        self.stretchUpper = stretchUpper
        self.noiseBound = noiseBound
    }

    /// EcoDiff's SDXL setting: δ = 0.5.
    public static let sdxl = HardConcrete(noiseBound: 0.5)
    /// EcoDiff's FLUX setting: δ = 0.1.
    public static let flux = HardConcrete(noiseBound: 0.1)

    /// The largest magnitude the logistic noise can take: `ln((1 + δ)/δ)`.
    public var noiseMagnitude: Float { Foundation.log((1 + noiseBound) / noiseBound) }

    /// The bounded logistic noise `log(u + δ) − log(1 − u + δ)` of each uniform draw. Not recorded.
    ///
    /// - Parameter uniform: `[n]` draws in `[0, 1)`.
    /// - Returns: `[n]`.
    public func logisticNoise(_ uniform: Tensor) -> Tensor {
        let delta = noiseBound
        let values = uniform.scalars().map { u in Foundation.log(u + delta) - Foundation.log(1 - u + delta) }
        return Tensor(values, shape: uniform.shape)
    }

    /// A gate sample built from tensor ops, so the gradient reaches `lambda` wherever the clamp is inactive.
    ///
    /// - Parameters:
    ///   - lambda: `[n]` logits (usually a leaf that requires a gradient).
    ///   - uniform: `[n]` draws in `[0, 1)`.
    /// - Returns: `[n]` values in `[0, 1]`.
    public func sample(_ lambda: Tensor, uniform: Tensor) -> Tensor {
        precondition(lambda.shape == uniform.shape, "hard-concrete: λ \(lambda.shape) and u \(uniform.shape) differ")
        return gate(lambda + logisticNoise(uniform))
    }

    /// The noise-free gate (u = ½, so n = 0): `clamp(sigmoid(λ/T)·(ζ − γ) + γ, 0, 1)`. `[n]` → `[n]`.
    public func noiseFreeGate(_ lambda: Tensor) -> Tensor { gate(lambda) }

    /// The smallest value the gate of a unit with logit `lambda` can take, at the most negative noise:
    /// how far from the unmasked model mask training can move a unit at that λ (EcoDiff's λ₀ = 3: SDXL's
    /// δ = 0.5 gives 0.9897, FLUX's published δ = 0.1 gives 0.70).
    public func smallestGate(lambda: Float) -> Float {
        let logistic = 1 / (1 + Foundation.exp(-(lambda - noiseMagnitude) / temperature))
        return min(max(logistic * (stretchUpper - stretchLower) + stretchLower, 0), 1)
    }

    /// The offset of the expected-L0 term, `T·ln(−γ/ζ)` (≈ −1.990 with the defaults).
    public var l0Offset: Float { temperature * Foundation.log(-stretchLower / stretchUpper) }

    /// The probability that each gate is non-zero, `sigmoid(λ − T·ln(−γ/ζ))`. `[n]` → `[n]`, recorded.
    public func probabilityNonZero(_ lambda: Tensor) -> Tensor { (lambda - l0Offset).sigmoid() }

    /// `clamp(sigmoid(x/T)·(ζ − γ) + γ, 0, 1)`.
    private func gate(_ logits: Tensor) -> Tensor {
        ((logits * (1 / temperature)).sigmoid() * (stretchUpper - stretchLower) + stretchLower).clamped(to: 0...1)
    }
}
