import PruneNN
import PruneTensor

/// EcoDiff's end-to-end mask objective for one prompt:
///
/// ```
/// L(λ) = mean((F_masked(z_T, y; m(λ, u)) − F(z_T, y))²) + β·R(λ)
/// ```
///
/// where `F` is the **whole** denoising trajectory (every step), the target `F(z_T, y)` is the final
/// latent of the unmasked model from the same noise and conditioning (computed once per prompt without
/// gradients, ``target(of:noise:)``), `m(λ, u)` the learning masks of ``MaskSet`` for the trajectory's
/// ``MaskNoise`` and `R` a ``MaskPenalty``.
///
/// ``accumulateGradients(_:noise:target:masks:maskNoise:onRecomputedStep:)`` **adds** ∂L/∂λ into every
/// `λ.gradient` (gradients of several prompts sum, as EcoDiff accumulates them), by time-step gradient
/// checkpointing or one full tape (``BackpropagationMode``). The model's own weights must not require
/// gradients (freeze them with `ParameterStore.setRequiresGradient(false)`, the default on load).
///
/// This implementation matches: EcoDiff `scripts/train.py` (`pruning_loss`, reconstruct 2 = `nn.MSELoss`,
/// and the `grad_checkpointing` loop), with the mask noise reused in the recompute and the recompute
/// running exactly the forward step (the official code re-samples the noise and mis-scales the SDXL
/// input there).
public struct EcoDiffObjective: Sendable, Equatable {
    /// The sparsity regulariser R.
    public var penalty: MaskPenalty
    /// β, the weight of R.
    public var penaltyWeight: Float
    /// β of one unit kind in place of ``penaltyWeight`` (none by default: EcoDiff weighs every kind alike).
    public var kindPenaltyWeights: [UnitKind: Float]
    /// The unit kinds R covers (all by default).
    public var penalizedKinds: Set<UnitKind>
    /// How the gradient is obtained.
    public var mode: BackpropagationMode

    public init(
        penalty: MaskPenalty, penaltyWeight: Float, kindPenaltyWeights: [UnitKind: Float] = [:],
        penalizedKinds: Set<UnitKind> = Set(UnitKind.allCases), mode: BackpropagationMode = .checkpointed
    ) {
        self.penalty = penalty
        self.penaltyWeight = penaltyWeight
        self.kindPenaltyWeights = kindPenaltyWeights
        self.penalizedKinds = penalizedKinds
        self.mode = mode
    }

    /// EcoDiff's SDXL setting: L1 of λ, β = 0.5.
    public static let sdxl = EcoDiffObjective(penalty: .l1Lambda, penaltyWeight: 0.5)
    /// EcoDiff's FLUX setting: L1 of `sigmoid(0.4λ + 1)`, β = 0.01.
    public static let flux = EcoDiffObjective(penalty: .fluxSigmoid, penaltyWeight: 0.01)

    /// The reconstruction target: the unmasked trajectory's final latent from `noise`, without gradients.
    ///
    /// - Parameter noise: standard-normal initial noise (SDXL `[B, C, h, w]`, FLUX packed `[B, N, C·4]`).
    /// - Returns: the final latent, shaped like the trajectory's latents.
    /// - Throws: whatever the trajectory's steps throw.
    public static func target<Trajectory: DenoisingTrajectory>(of trajectory: Trajectory, noise: Tensor) throws -> Tensor {
        try withoutGradients { try trajectory.finalLatents(noise: noise) }
    }

    /// The objective's value without any gradient (finite differences, monitoring).
    ///
    /// - Throws: ``ObjectiveError`` when `target` does not fit the final latent; trajectory errors.
    public func evaluate<Trajectory: DenoisingTrajectory>(
        _ trajectory: Trajectory, noise: Tensor, target: Tensor, masks: MaskSet, maskNoise: MaskNoise
    ) throws -> ObjectiveValue {
        try withoutGradients {
            let latents = try trajectory.unroll(noise: noise, masks: { masks.masks(noise: maskNoise, step: $0) })
            try Self.checkTarget(target, fits: latents)
            let reconstruction = meanSquaredError(latents, target).item()
            let (unweighted, weighted) = penaltyTerms(masks)
            return value(reconstruction: reconstruction, penalty: unweighted, weightedPenalty: weighted.item())
        }
    }

    /// Evaluates the objective and adds ∂L/∂λ into `λ.gradient` of every module of `masks`.
    ///
    /// - Parameters:
    ///   - noise: the prompt's initial noise.
    ///   - target: ``target(of:noise:)`` for the same trajectory and noise.
    ///   - maskNoise: the trajectory's mask noise; both passes of ``BackpropagationMode/checkpointed`` use it.
    ///   - onRecomputedStep: checkpointed mode only: called with each step index (last first) and the
    ///     step's recorded output, right after the recompute and before its backward. Do not keep the
    ///     tensor; it holds that step's tape.
    /// - Returns: the objective's value at the current λ.
    /// - Throws: ``ObjectiveError`` when `target` does not fit the final latent; trajectory errors.
    public func accumulateGradients<Trajectory: DenoisingTrajectory>(
        _ trajectory: Trajectory, noise: Tensor, target: Tensor, masks: MaskSet, maskNoise: MaskNoise,
        onRecomputedStep: ((Int, Tensor) -> Void)? = nil
    ) throws -> ObjectiveValue {
        switch mode {
        case .checkpointed:
            try checkpointedGradients(
                trajectory, noise: noise, target: target.detached(), masks: masks, maskNoise: maskNoise,
                onRecomputedStep: onRecomputedStep)
        case .fullTape:
            try fullTapeGradients(trajectory, noise: noise, target: target.detached(), masks: masks, maskNoise: maskNoise)
        }
    }

    /// β of `kind`: 0 outside ``penalizedKinds``, else its ``kindPenaltyWeights`` entry or ``penaltyWeight``.
    public func penaltyWeight(of kind: UnitKind) -> Float {
        penalizedKinds.contains(kind) ? kindPenaltyWeights[kind] ?? penaltyWeight : 0
    }

    /// From one pass over the masks: R, unweighted, and `Σ_kinds β_kind · R_kind`, the penalty as it enters the loss
    /// (a scalar, recorded when the tape is on).
    public func penaltyTerms(_ masks: MaskSet) -> (penalty: Float, weighted: Tensor) {
        var unweighted: Float = 0
        var weighted: Tensor?
        for (kind, term) in penalty.kindTerms(masks, kinds: penalizedKinds) {
            unweighted += term.item()
            let kindWeight = penaltyWeight(of: kind)
            guard kindWeight != 0 else { continue }
            let scaled = term * kindWeight
            weighted = weighted.map { $0 + scaled } ?? scaled
        }
        return (unweighted, weighted ?? Tensor(scalar: 0))
    }

    /// Back-propagates the weighted penalty into λ; returns R, unweighted, and the weighted penalty.
    func backpropagatePenalty(_ masks: MaskSet) -> (penalty: Float, weighted: Float) {
        withGradients {
            let (unweighted, weighted) = penaltyTerms(masks)
            if weighted.requiresGradient { weighted.backward() }
            return (unweighted, weighted.item())
        }
    }

    func value(reconstruction: Float, penalty: Float, weightedPenalty: Float) -> ObjectiveValue {
        ObjectiveValue(reconstruction: reconstruction, penalty: penalty, total: reconstruction + weightedPenalty)
    }

    static func checkTarget(_ target: Tensor, fits latents: Tensor) throws(ObjectiveError) {
        guard target.shape == latents.shape else { throw .targetShape(expected: latents.shape, actual: target.shape) }
    }
}
