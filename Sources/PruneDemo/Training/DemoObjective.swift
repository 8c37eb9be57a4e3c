import Foundation
import PruneFlux
import PruneKit
import PruneNN
import PruneSDXL
import PruneTensor

/// The training losses of the two families, each on the schedule the family samples with.
///
/// - SDXL (DDPM v-prediction): `t ~ U{0, …, 999}`, `x_t = √ᾱ_t·x₀ + √(1−ᾱ_t)·ε` with SDXL's scaled_linear
///   ᾱ (``DemoArchitecture/sdxlScheduler``), target `v = √ᾱ_t·ε − √(1−ᾱ_t)·x₀`, loss `‖v̂(x_t, t) − v‖²`
///   (mean). See ``DemoArchitecture/sdxlScheduler`` for why v rather than ε.
/// - FLUX (rectified flow): `t = sigmoid(n)`, `n ~ N(0, 1)` (logit-normal), `x_t = (1 − t)·x₀ + t·ε`,
///   target velocity `v = ε − x₀` (what FlowMatchEulerDiscreteScheduler integrates from σ = 1 to 0), loss
///   `‖v̂(pack(x_t), t) − pack(v)‖²` (mean).
///
/// This implementation matches: Ho et al. 2020 (DDPM, "simple" loss), Salimans & Ho 2022 (v-prediction,
/// diffusers `DDPMScheduler.get_velocity`); Liu et al. 2022 and Esser et al. 2024
/// (rectified flow with logit-normal timesteps, SD3 §3.1).
public struct DemoObjective: Sendable {
    /// ᾱ_t of the SDXL schedule, `[1000]`.
    public let alphasCumprod: [Float]

    public init() {
        alphasCumprod = (try? DiscreteNoiseTable(config: DemoArchitecture.sdxlScheduler))?.alphasCumprod ?? []
        precondition(alphasCumprod.count == 1000, "the SDXL demo noise table must have 1000 entries")
    }

    /// The loss of `model` on clean latents with their prompts' conditioning, recorded on the tape.
    ///
    /// - Parameters:
    ///   - latents: clean latents `[B, 12, 16, 16]`.
    ///   - tokens: per-token text embeddings `[B, L, W]`; `pooled`: `[B, W]`.
    ///   - generator: draws timesteps and noise.
    /// - Returns: the scalar loss.
    public func loss(
        _ denoiser: DemoDenoiser, latents: Tensor, tokens: Tensor, pooled: Tensor, using generator: inout SeededGenerator
    ) throws -> Tensor {
        let batch = latents.shape[0]
        let noise = Tensor.randomNormal(latents.shape, using: &generator)
        switch denoiser {
        case .sdxl(let unet):
            let steps = (0..<batch).map { _ in Int(generator.next() % UInt64(alphasCumprod.count)) }
            let signal = Tensor(steps.map { alphasCumprod[$0].squareRoot() }, shape: [batch, 1, 1, 1])
            let noiseScale = Tensor(steps.map { (1 - alphasCumprod[$0]).squareRoot() }, shape: [batch, 1, 1, 1])
            let noisy = latents * signal + noise * noiseScale
            let timeIDs = Tensor(
                Array(repeating: DemoArchitecture.microConditioning.timeIDs, count: batch).flatMap { $0 }, shape: [batch, 6])
            let prediction = try unet(
                UNetInputs(
                    sample: noisy, timestep: Tensor(steps.map(Float.init), shape: [batch]), encoderHiddenStates: tokens,
                    textEmbeds: pooled, timeIDs: timeIDs))
            return meanSquaredError(prediction, noise * signal - latents * noiseScale)
        case .flux(let transformer):
            let times = (0..<batch).map { _ in 1 / (1 + Foundation.exp(-generator.nextNormal())) }
            let t = Tensor(times, shape: [batch, 1, 1, 1])
            let noisy = latents * (1 - t) + noise * t
            let (height, width) = (latents.shape[2], latents.shape[3])
            let prediction = transformer(
                hiddenStates: FluxLatentPacking.pack(noisy), encoderHiddenStates: tokens, pooledProjections: pooled,
                timestep: Tensor(times, shape: [batch]), imageIDs: FluxLatentPacking.imageIDs(rows: height / 2, columns: width / 2),
                textIDs: FluxLatentPacking.textIDs(count: tokens.shape[1]))
            return meanSquaredError(prediction, FluxLatentPacking.pack(noise - latents))
        }
    }
}
