// Port of the denoising loop of diffusers `pipelines/flux/pipeline_flux.py` (FluxPipeline, no true CFG).
import PruneKit
import PruneNN
import PruneTensor

/// The FLUX denoising loop with diffusers' semantics, one step at a time so the pruning core can unroll
/// it: packed latents start as the noise itself (flow matching has no initial scaling); the schedule is
/// `σ = linspace(1, 1/n, n)` shifted with `mu = calculate_shift(tokens)`; the transformer sees
/// `t/1000`, and embedded guidance where the model has a guidance embedding.
public struct FluxSampler {
    public let transformer: FluxTransformer2DModel
    public private(set) var scheduler: FlowMatchEulerDiscreteScheduler
    let conditioning: FluxInputs

    /// - Parameters:
    ///   - promptEmbeds: `prompt_embeds` `[B, T, joint_attention_dim]`.
    ///   - pooledPromptEmbeds: `pooled_prompt_embeds` `[B, pooled]`.
    ///   - latentHeight, latentWidth: the unpacked latent grid (`2·(H // 16)` × `2·(W // 16)` for an H × W image).
    ///   - guidanceScale: embedded guidance (FLUX-dev); ignored by models without a guidance embedding.
    /// - Throws: `SchedulerError` for a bad step count.
    public init(
        transformer: FluxTransformer2DModel, scheduler: FlowMatchEulerDiscreteScheduler, steps: Int, guidanceScale: Float,
        promptEmbeds: Tensor, pooledPromptEmbeds: Tensor, latentHeight: Int, latentWidth: Int
    ) throws {
        self.transformer = transformer
        var scheduler = scheduler
        try scheduler.setPipelineTimesteps(steps, imageSequenceLength: (latentHeight / 2) * (latentWidth / 2))
        self.scheduler = scheduler
        let batch = promptEmbeds.shape[0]
        conditioning = FluxInputs(
            hiddenStates: Tensor.zeros([batch, 0, transformer.configuration.inChannels]), encoderHiddenStates: promptEmbeds,
            pooledProjections: pooledPromptEmbeds, timestep: Tensor(scalar: 0),
            imageIDs: FluxLatentPacking.imageIDs(rows: latentHeight / 2, columns: latentWidth / 2),
            textIDs: FluxLatentPacking.textIDs(count: promptEmbeds.shape[1]),
            guidance: transformer.configuration.guidanceEmbeds ? Tensor(scalar: guidanceScale) : nil)
    }

    /// Number of denoising steps in the schedule.
    public var stepCount: Int { scheduler.timesteps.count }

    /// One denoising step on packed latents `[B, N, C·4]`.
    /// - Throws: ``FluxInputError`` when the latents or embeddings do not fit the model.
    public func step(_ latents: Tensor, index: Int, masks: UnitMasks = .none) throws -> Tensor {
        var inputs = conditioning
        inputs.hiddenStates = latents
        inputs.timestep = Tensor(scalar: scheduler.transformerTimestep(at: index))
        let velocity = try transformer(inputs, masks: masks)
        return scheduler.step(modelOutput: velocity, stepIndex: index, sample: latents)
    }

    /// Runs every step from packed `noise`; `onStep(i, latents)` sees the latents after each step.
    public func run(noise: Tensor, masks: UnitMasks = .none, onStep: (Int, Tensor) -> Void = { _, _ in }) throws -> Tensor {
        try unroll(noise: noise, masks: { _ in masks }) { step in
            onStep(step.index, step.output)
            return .proceed
        }
    }
}

extension FluxSampler: DenoisingTrajectory {
    /// FLUX starts from the packed noise itself (flow matching has no initial scaling).
    public func initialLatents(noise: Tensor) -> Tensor { noise }
}
