import PruneFlux
import PruneKit
import PruneNN
import PruneSDXL
import PruneTensor

/// How demo images are sampled.
public struct DemoSamplingSettings: Codable, Sendable, Equatable {
    /// Denoising steps.
    public var steps: Int = 20
    /// Classifier-free guidance scale (the null prompt is the unconditional branch); ≤ 1 disables it.
    public var guidanceScale: Float = 3
    /// Images per model call (memory bound).
    public var batchSize: Int = 72

    public init(steps: Int = 20, guidanceScale: Float = 3, batchSize: Int = 72) {
        self.steps = steps
        self.guidanceScale = guidanceScale
        self.batchSize = batchSize
    }

    enum CodingKeys: String, CodingKey { case steps, guidanceScale = "guidance_scale", batchSize = "batch_size" }
}

/// Generates images for prompts with a ``DemoModel``, through the same trajectories pruning unrolls:
/// ``SDXLSampler`` with DDIM (SDXL family) and ``GuidedFluxTrajectory`` over ``FluxSampler``'s
/// flow-match schedule (FLUX family).
public struct DemoSampler {
    public let model: DemoModel
    public let settings: DemoSamplingSettings

    /// - Parameter settings: default: 20 steps at the family's guidance (``DemoArchitecture/defaultGuidanceScale``).
    public init(model: DemoModel, settings: DemoSamplingSettings? = nil) {
        self.model = model
        self.settings = settings ?? DemoSamplingSettings(guidanceScale: model.architecture.defaultGuidanceScale)
    }

    /// The standard-normal starting noise of image `index` under `seed`: `[12, 16, 16]` values, the same for
    /// both families and for a model and its pruned version.
    public static func noise(seed: UInt64, index: Int) -> [Float] {
        var generator = SeededGenerator(seed: seed &* 0xA076_1D64_78BD_642F &+ UInt64(index))
        let count = PixelUnshuffleCodec.latentChannels * DemoArchitecture.latentSize * DemoArchitecture.latentSize
        return (0..<count).map { _ in generator.nextNormal() }
    }

    /// A trajectory for `prompts` (the unit of pruning's objective) and the noise shape it starts from.
    public func trajectory(prompts: [String]) throws -> (trajectory: any DenoisingTrajectory, noiseShape: [Int]) {
        let (tokens, pooled) = try withoutGradients { try model.encode(prompts) }
        let (nullTokens, nullPooled) = try withoutGradients { try model.encode([nil]) }
        return try Self.trajectory(
            denoiser: model.denoiser, tokens: tokens, pooled: pooled, nullTokens: nullTokens, nullPooled: nullPooled, settings: settings)
    }

    /// The demo family's sampling trajectory for encoded prompts: DDIM (v-prediction, trailing) through
    /// ``SDXLSampler`` for the U-Net, ``GuidedFluxTrajectory`` over the flow-match schedule for the DiT.
    ///
    /// - Parameters:
    ///   - tokens: per-token embeddings `[B, L, W]`; `pooled`: `[B, W]`.
    ///   - nullTokens, nullPooled: the null prompt's, `[1, L, W]` / `[1, W]` (used when guidance > 1).
    /// - Returns: the trajectory and the noise shape it starts from (SDXL `[B, 12, 16, 16]`, FLUX packed
    ///   `[B, 64, 48]`).
    /// - Throws: scheduler and shape errors.
    public static func trajectory(
        denoiser: DemoDenoiser, tokens: Tensor, pooled: Tensor, nullTokens: Tensor, nullPooled: Tensor, settings: DemoSamplingSettings
    ) throws -> (trajectory: any DenoisingTrajectory, noiseShape: [Int]) {
        let batch = tokens.shape[0]
        let side = DemoArchitecture.latentSize
        switch denoiser {
        case .sdxl(let unet):
            let sampler = try SDXLSampler(
                unet: unet, scheduler: try DDIMScheduler(config: DemoArchitecture.sdxlScheduler), steps: settings.steps,
                guidanceScale: settings.guidanceScale,
                conditioning: SDXLConditioning(
                    promptEmbeds: tokens, pooledPromptEmbeds: pooled,
                    negativePromptEmbeds: concatenate(Array(repeating: nullTokens, count: batch), axis: 0),
                    negativePooledPromptEmbeds: concatenate(Array(repeating: nullPooled, count: batch), axis: 0)),
                microConditioning: DemoArchitecture.microConditioning)
            return (SDXLTrajectory(sampler: sampler, latentShape: [batch, PixelUnshuffleCodec.latentChannels, side, side], seed: 0),
                    [batch, PixelUnshuffleCodec.latentChannels, side, side])
        case .flux(let transformer):
            let trajectory = try GuidedFluxTrajectory(
                transformer: transformer, scheduler: try FlowMatchEulerDiscreteScheduler(config: DemoArchitecture.fluxScheduler),
                steps: settings.steps, guidanceScale: settings.guidanceScale, promptEmbeds: tokens, pooledPromptEmbeds: pooled,
                nullEmbeds: nullTokens, nullPooledEmbeds: nullPooled, latentHeight: side, latentWidth: side)
            return (trajectory, [batch, (side / 2) * (side / 2), 4 * PixelUnshuffleCodec.latentChannels])
        }
    }

    /// Samples one image per prompt from the noise of `noiseIndices` (``noise(seed:index:)``), with unit
    /// `masks` applied inline.
    ///
    /// - Returns: final latents `[B, 12, 16, 16]` and images `[B, 3, 32, 32]` in [0, 1].
    public func sample(
        prompts: [String], seed: UInt64, noiseIndices: [Int], masks: UnitMasks = .none
    ) throws -> (latents: Tensor, images: Tensor) {
        precondition(prompts.count == noiseIndices.count, "one noise index per prompt")
        var latentParts: [Tensor] = []
        for start in stride(from: 0, to: prompts.count, by: settings.batchSize) {
            let end = Swift.min(start + settings.batchSize, prompts.count)
            let latents = try withoutGradients { () throws -> Tensor in
                let (trajectory, noiseShape) = try trajectory(prompts: Array(prompts[start..<end]))
                let side = DemoArchitecture.latentSize
                let values = noiseIndices[start..<end].flatMap { Self.noise(seed: seed, index: $0) }
                let noise = Tensor(values, shape: [end - start, PixelUnshuffleCodec.latentChannels, side, side])
                let packed = model.architecture == .flux
                let start = trajectory.initialLatents(noise: packed ? FluxLatentPacking.pack(noise).contiguous() : noise)
                precondition(start.shape == noiseShape, "noise shape \(start.shape) does not fit the trajectory's \(noiseShape)")
                let x = try trajectory.unroll(from: start, masks: { _ in masks })
                return packed ? FluxLatentPacking.unpack(x, height: side, width: side).contiguous() : x
            }
            latentParts.append(latents)
        }
        let latents = concatenate(latentParts, axis: 0)
        return (latents, PixelUnshuffleCodec.decode(latents).contiguous())
    }
}
