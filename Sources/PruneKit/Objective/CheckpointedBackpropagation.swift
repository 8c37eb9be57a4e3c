import PruneNN
import PruneTensor

extension EcoDiffObjective {
    /// Time-step gradient checkpointing (DESIGN decision 4).
    ///
    /// 1. No tape: run every step with the learning masks, keeping only the latent entering each step
    ///    (`T` latents `z_0 … z_{T−1}`).
    /// 2. `g = ∂MSE/∂ẑ₀` from the final latent; β·R back-propagates straight into λ.
    /// 3. For k = T−1 … 0: recompute step k on the tape from `z_k` as a fresh leaf and the same masks
    ///    (same λ leaves, same noise draws), `output.backward(seed: g)` — λ gradients accumulate — then
    ///    `g ← z_k.gradient`. Backward clears the step's ops, and the step's tensors go out of scope, so
    ///    only one step's tape is alive at any time.
    ///
    /// This implementation matches: EcoDiff `scripts/train.py` (`grad_checkpointing: true`).
    func checkpointedGradients<Trajectory: DenoisingTrajectory>(
        _ trajectory: Trajectory, noise: Tensor, target: Tensor, masks: MaskSet, maskNoise: MaskNoise,
        onRecomputedStep: ((Int, Tensor) -> Void)?
    ) throws -> ObjectiveValue {
        let stepCount = trajectory.stepCount
        var stepInputs: [Tensor] = []
        stepInputs.reserveCapacity(stepCount)
        let final = try withoutGradients {
            try trajectory.unroll(noise: noise, masks: { masks.masks(noise: maskNoise, step: $0) }) { step in
                stepInputs.append(step.input)
                return .proceed
            }
        }
        try Self.checkTarget(target, fits: final)

        let (reconstruction, finalGradient) = withGradients {
            let output = Tensor(storage: final.storage, layout: final.layout, requiresGradient: true)
            let loss = meanSquaredError(output, target)
            loss.backward()
            return (loss.item(), output.gradient ?? Tensor.zeros(output.shape))
        }
        let regulariser = backpropagatePenalty(masks)

        var latentGradient = finalGradient
        for index in stride(from: stepCount - 1, through: 0, by: -1) {
            let stored = stepInputs.removeLast()
            // Step 0's input is the fixed initial noise: no gradient needed there.
            let input = Tensor(storage: stored.storage, layout: stored.layout, requiresGradient: index > 0)
            let output = try withGradients {
                try trajectory.step(input, index: index, masks: masks.masks(noise: maskNoise, step: index))
            }
            onRecomputedStep?(index, output)
            output.backward(seed: latentGradient)
            if index > 0 { latentGradient = input.gradient ?? Tensor.zeros(input.shape) }
        }
        return value(reconstruction: reconstruction, penalty: regulariser.penalty, weightedPenalty: regulariser.weighted)
    }
}
