import PruneNN
import PruneTensor

extension EcoDiffObjective {
    /// The whole trajectory on one tape, then one backward of `MSE + β·R`. Memory grows with the number of
    /// steps; kept to check ``BackpropagationMode/checkpointed`` against.
    func fullTapeGradients<Trajectory: DenoisingTrajectory>(
        _ trajectory: Trajectory, noise: Tensor, target: Tensor, masks: MaskSet, maskNoise: MaskNoise
    ) throws -> ObjectiveValue {
        try withGradients {
            let latents = try trajectory.unroll(noise: noise, masks: { masks.masks(noise: maskNoise, step: $0) })
            try Self.checkTarget(target, fits: latents)
            let reconstruction = meanSquaredError(latents, target)
            let (unweighted, weighted) = penaltyTerms(masks)
            let loss = reconstruction + weighted
            let result = value(reconstruction: reconstruction.item(), penalty: unweighted, weightedPenalty: weighted.item())
            loss.backward()
            return result
        }
    }
}
