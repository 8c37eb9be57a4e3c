// Port of the denoising loop of diffusers `pipelines/stable_diffusion_xl/pipeline_stable_diffusion_xl.py`.
import Foundation
import PruneKit
import PruneNN
import PruneTensor

/// Text conditioning as diffusers' SDXL pipeline names it.
public struct SDXLConditioning {
    /// `prompt_embeds`: `[1, S, cross_attention_dim]`.
    public var promptEmbeds: Tensor
    /// `pooled_prompt_embeds`: `[1, pooled]`.
    public var pooledPromptEmbeds: Tensor
    /// `negative_prompt_embeds`: like `promptEmbeds`; zeros when absent and guidance is on (diffusers'
    /// `force_zeros_for_empty_prompt`).
    public var negativePromptEmbeds: Tensor?
    /// `negative_pooled_prompt_embeds`: like `pooledPromptEmbeds`.
    public var negativePooledPromptEmbeds: Tensor?

    public init(promptEmbeds: Tensor, pooledPromptEmbeds: Tensor, negativePromptEmbeds: Tensor? = nil, negativePooledPromptEmbeds: Tensor? = nil) {
        self.promptEmbeds = promptEmbeds
        self.pooledPromptEmbeds = pooledPromptEmbeds
        self.negativePromptEmbeds = negativePromptEmbeds
        self.negativePooledPromptEmbeds = negativePooledPromptEmbeds
    }
}

/// SDXL micro-conditioning: `original_size + crops_coords_top_left + target_size`, in pixels.
public struct SDXLMicroConditioning: Sendable, Equatable {
    public var originalSize: (height: Int, width: Int)
    public var cropsCoordinatesTopLeft: (top: Int, left: Int)
    public var targetSize: (height: Int, width: Int)

    /// The pipeline's defaults for an image of `height × width` pixels: no crop, original = target.
    public init(height: Int, width: Int) {
        originalSize = (height, width)
        cropsCoordinatesTopLeft = (0, 0)
        targetSize = (height, width)
    }

    public init(originalSize: (Int, Int), cropsCoordinatesTopLeft: (Int, Int), targetSize: (Int, Int)) {
        self.originalSize = originalSize
        self.cropsCoordinatesTopLeft = cropsCoordinatesTopLeft
        self.targetSize = targetSize
    }

    /// `[6]` as the pipeline's `_get_add_time_ids`.
    public var timeIDs: [Float] {
        [originalSize.height, originalSize.width, cropsCoordinatesTopLeft.top, cropsCoordinatesTopLeft.left,
         targetSize.height, targetSize.width].map(Float.init)
    }

    public static func == (a: Self, b: Self) -> Bool { a.timeIDs == b.timeIDs }
}

/// The SDXL denoising loop with diffusers' semantics, one step at a time so the pruning core can unroll
/// it on the tape: initial latents are `noise · init_noise_sigma`; with guidance > 1 (and no
/// `time_cond_proj_dim`) the U-Net sees the batch `[negative, positive]` and
/// `ε = ε_uncond + g · (ε_text − ε_uncond)`; LCM-style U-Nets get the guidance embedding instead.
public struct SDXLSampler {
    public let unet: UNet2DConditionModel
    public private(set) var scheduler: any Scheduler
    public let guidanceScale: Float
    /// Whether the batch is doubled for classifier-free guidance.
    public let usesClassifierFreeGuidance: Bool
    let encoderHiddenStates: Tensor
    let textEmbeds: Tensor
    let timeIDs: Tensor
    let timestepCondition: Tensor?

    /// - Parameters:
    ///   - steps: inference steps (`num_inference_steps`).
    ///   - guidanceScale: `guidance_scale`; ≤ 1 disables classifier-free guidance.
    /// - Throws: `SchedulerError` for an invalid step count, `UNetInputError` for mis-shaped embeddings.
    public init(
        unet: UNet2DConditionModel, scheduler: any Scheduler, steps: Int, guidanceScale: Float,
        conditioning: SDXLConditioning, microConditioning: SDXLMicroConditioning
    ) throws {
        self.unet = unet
        var scheduler = scheduler
        try scheduler.setTimesteps(steps)
        self.scheduler = scheduler
        self.guidanceScale = guidanceScale
        let conditionProjection = unet.configuration.timeCondProjDim
        usesClassifierFreeGuidance = guidanceScale > 1 && conditionProjection == nil
        let prompt = conditioning.promptEmbeds
        let pooled = conditioning.pooledPromptEmbeds
        guard prompt.rank == 3, pooled.rank == 2, prompt.shape[0] == pooled.shape[0] else {
            throw UNetInputError.shape(name: "prompt_embeds / pooled_prompt_embeds", expected: "[B, S, D] and [B, P]", actual: prompt.shape + pooled.shape)
        }
        let batch = prompt.shape[0]
        let ids = Tensor(Array(repeating: microConditioning.timeIDs, count: batch).flatMap { $0 }, shape: [batch, 6])
        if usesClassifierFreeGuidance {
            let negative = conditioning.negativePromptEmbeds ?? Tensor.zeros(prompt.shape)
            let negativePooled = conditioning.negativePooledPromptEmbeds ?? Tensor.zeros(pooled.shape)
            guard negative.shape == prompt.shape, negativePooled.shape == pooled.shape else {
                throw UNetInputError.shape(name: "negative_prompt_embeds", expected: "\(prompt.shape) and \(pooled.shape)", actual: negative.shape + negativePooled.shape)
            }
            encoderHiddenStates = concatenate([negative, prompt], axis: 0)
            textEmbeds = concatenate([negativePooled, pooled], axis: 0)
            timeIDs = concatenate([ids, ids], axis: 0)
        } else {
            encoderHiddenStates = prompt
            textEmbeds = pooled
            timeIDs = ids
        }
        timestepCondition = conditionProjection.map { width in
            guidanceScaleEmbedding(Array(repeating: guidanceScale - 1, count: batch), dimension: width)
        }
    }

    /// Number of denoising steps in the schedule.
    public var stepCount: Int { scheduler.timesteps.count }

    /// The latents entering step 0: `noise · init_noise_sigma` (`noise`: `[B, C, h, w]` standard normal).
    public func initialLatents(noise: Tensor) -> Tensor { noise * scheduler.initNoiseSigma }

    /// One denoising step: the latents after step `index`.
    ///
    /// - Parameters:
    ///   - latents: `[B, C, h, w]` entering step `index`.
    ///   - noise: standard-normal noise for schedulers that inject it at this step (see `needsNoise`).
    /// - Throws: ``UNetInputError`` when the latents do not fit the U-Net.
    public func step(_ latents: Tensor, index: Int, masks: UnitMasks = .none, noise: Tensor? = nil) throws -> Tensor {
        let timestep = Tensor(scalar: scheduler.timesteps[index])
        let modelInput = usesClassifierFreeGuidance ? concatenate([latents, latents], axis: 0) : latents
        let scaled = scheduler.scaleModelInput(modelInput, stepIndex: index)
        var prediction = try unet(
            UNetInputs(
                sample: scaled, timestep: timestep, encoderHiddenStates: encoderHiddenStates, textEmbeds: textEmbeds,
                timeIDs: timeIDs, timestepCondition: timestepCondition),
            masks: masks)
        if usesClassifierFreeGuidance { prediction = ClassifierFreeGuidance.combine(batched: prediction, scale: guidanceScale) }
        return scheduler.step(modelOutput: prediction, stepIndex: index, sample: latents, noise: noise)
    }

    /// Runs every step from `noise` (through ``SDXLTrajectory`` and PruneKit's one unroll loop); `stepNoise(i)`
    /// supplies injected noise where the scheduler needs it (asked in step order, before the first step) and
    /// `onStep(i, latents)` sees the latents after each step.
    public func run(
        noise: Tensor, masks: UnitMasks = .none, stepNoise: (Int) -> Tensor? = { _ in nil },
        onStep: (Int, Tensor) -> Void = { _, _ in }
    ) throws -> Tensor {
        var injected: [Int: Tensor] = [:]
        for index in 0..<stepCount where scheduler.needsNoise(atStep: index) { injected[index] = stepNoise(index) }
        return try SDXLTrajectory(sampler: self, stepNoise: injected).unroll(noise: noise, masks: { _ in masks }) { step in
            onStep(step.index, step.output)
            return .proceed
        }
    }
}

/// LCM's guidance-scale embedding (`get_guidance_scale_embedding` in diffusers' LCM pipelines):
/// `w · 1000`, frequencies `exp(−ln(10000) · i / (half − 1))`, `[sin | cos]`, zero-padded to an odd width.
///
/// - Returns: `[N, dimension]`.
public func guidanceScaleEmbedding(_ scales: [Float], dimension: Int) -> Tensor {
    let half = dimension / 2
    let step = Float(Foundation.log(10_000.0)) / Float(max(half - 1, 1))
    var values: [Float] = []
    for scale in scales {
        let w = scale * 1000
        let angles = (0..<half).map { w * Foundation.exp(-step * Float($0)) }
        values += angles.map { Foundation.sin($0) } + angles.map { Foundation.cos($0) }
        if dimension % 2 == 1 { values.append(0) }
    }
    return Tensor(values, shape: [scales.count, dimension])
}

/// An ``SDXLSampler`` with its injected per-step noise fixed: a ``DenoisingTrajectory``.
public struct SDXLTrajectory: DenoisingTrajectory {
    public let sampler: SDXLSampler
    /// Standard-normal noise for each step whose scheduler injects noise (ancestral sampling, LCM), drawn once.
    public let stepNoise: [Int: Tensor]

    /// Draws the injected noise of every step that needs it from `seed`; latents have `latentShape`.
    public init(sampler: SDXLSampler, latentShape: [Int], seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        var noise: [Int: Tensor] = [:]
        for index in 0..<sampler.stepCount where sampler.scheduler.needsNoise(atStep: index) {
            noise[index] = Tensor.randomNormal(latentShape, using: &generator)
        }
        self.init(sampler: sampler, stepNoise: noise)
    }

    /// The sampler with the given injected noise per step index (steps without an entry inject none).
    public init(sampler: SDXLSampler, stepNoise: [Int: Tensor]) {
        self.sampler = sampler
        self.stepNoise = stepNoise
    }

    public var stepCount: Int { sampler.stepCount }
    public func initialLatents(noise: Tensor) -> Tensor { sampler.initialLatents(noise: noise) }
    public func step(_ latents: Tensor, index: Int, masks: UnitMasks) throws -> Tensor {
        try sampler.step(latents, index: index, masks: masks, noise: stepNoise[index])
    }
}
