import PruneNN
import PruneTensor

/// A fixed denoising trajectory: the schedule, conditioning, guidance and any injected noise are bound,
/// so the only free inputs of a step are the latents entering it and the unit masks.
///
/// EcoDiff's objective unrolls a trajectory end to end; time-step gradient checkpointing recomputes one
/// ``step(_:index:masks:)`` at a time on the tape. Every step must therefore be a pure function of its
/// arguments (no hidden randomness: ancestral-sampling noise is drawn once when the trajectory is made).
public protocol DenoisingTrajectory {
    /// Number of denoising steps.
    var stepCount: Int { get }
    /// The latents entering step 0, from standard-normal `noise` (SDXL: `noise · init_noise_sigma`; FLUX: the
    /// packed noise itself).
    func initialLatents(noise: Tensor) -> Tensor
    /// The latents after step `index`, given those entering it. Differentiable in `latents` and in the masks.
    /// - Throws: when the latents or masks do not fit the model.
    func step(_ latents: Tensor, index: Int, masks: UnitMasks) throws -> Tensor
}
