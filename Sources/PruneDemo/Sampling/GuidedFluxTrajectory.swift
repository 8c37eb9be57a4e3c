import PruneFlux
import PruneKit
import PruneNN
import PruneTensor

/// The FLUX sampling loop of ``FluxSampler`` (same flow-match schedule, same packed latents and ids) with
/// true classifier-free guidance: every step runs the transformer on `[null prompt, prompt]` and
/// integrates `v = v_null + g·(v_prompt − v_null)`. With `g ≤ 1` it is exactly ``FluxSampler``'s loop.
///
/// FLUX.1 itself is guidance-distilled and needs no CFG; the demo model is not, and samples far more
/// faithfully with it.
public struct GuidedFluxTrajectory: DenoisingTrajectory {
    public let sampler: FluxSampler
    public let guidanceScale: Float
    let transformer: FluxTransformer2DModel
    let conditioning: FluxInputs
    let batch: Int

    /// - Parameters:
    ///   - promptEmbeds: `[B, T, W]`, `pooledPromptEmbeds`: `[B, W]`; `nullEmbeds`/`nullPooledEmbeds`: the same
    ///     for the null prompt (`[1, T, W]` / `[1, W]` or batch-sized).
    ///   - latentHeight, latentWidth: the unpacked latent grid.
    /// - Throws: `SchedulerError` for a bad step count.
    public init(
        transformer: FluxTransformer2DModel, scheduler: FlowMatchEulerDiscreteScheduler, steps: Int, guidanceScale: Float,
        promptEmbeds: Tensor, pooledPromptEmbeds: Tensor, nullEmbeds: Tensor, nullPooledEmbeds: Tensor, latentHeight: Int,
        latentWidth: Int
    ) throws {
        sampler = try FluxSampler(
            transformer: transformer, scheduler: scheduler, steps: steps, guidanceScale: 1, promptEmbeds: promptEmbeds,
            pooledPromptEmbeds: pooledPromptEmbeds, latentHeight: latentHeight, latentWidth: latentWidth)
        self.transformer = transformer
        self.guidanceScale = guidanceScale
        let count = promptEmbeds.shape[0]
        batch = count
        let guided = guidanceScale > 1
        let expanded = { (tensor: Tensor) -> Tensor in
            tensor.shape[0] == count ? tensor : concatenate(Array(repeating: tensor, count: count), axis: 0)
        }
        conditioning = FluxInputs(
            hiddenStates: Tensor.zeros([0]),
            encoderHiddenStates: guided ? concatenate([expanded(nullEmbeds), promptEmbeds], axis: 0) : promptEmbeds,
            pooledProjections: guided ? concatenate([expanded(nullPooledEmbeds), pooledPromptEmbeds], axis: 0) : pooledPromptEmbeds,
            timestep: Tensor(scalar: 0),
            imageIDs: FluxLatentPacking.imageIDs(rows: latentHeight / 2, columns: latentWidth / 2),
            textIDs: FluxLatentPacking.textIDs(count: promptEmbeds.shape[1]))
    }

    public var stepCount: Int { sampler.stepCount }
    public func initialLatents(noise: Tensor) -> Tensor { noise }

    /// One step on packed latents `[B, N, C·4]`.
    public func step(_ latents: Tensor, index: Int, masks: UnitMasks) throws -> Tensor {
        guard guidanceScale > 1 else { return try sampler.step(latents, index: index, masks: masks) }
        var inputs = conditioning
        inputs.hiddenStates = concatenate([latents, latents], axis: 0)
        inputs.timestep = Tensor(scalar: sampler.scheduler.transformerTimestep(at: index))
        let velocity = ClassifierFreeGuidance.combine(batched: try transformer(inputs, masks: masks), scale: guidanceScale)
        return sampler.scheduler.step(modelOutput: velocity, stepIndex: index, sample: latents)
    }
}
