import PruneFlux
import PruneKit
import PruneSDXL

/// The two demo model families.
public enum DemoArchitecture: String, Sendable, CaseIterable, Codable {
    /// An SDXL-architecture `UNet2DConditionModel` trained for DDPM v-prediction on SDXL's betas.
    case sdxl
    /// A FLUX-architecture `FluxTransformer2DModel` trained for rectified flow.
    case flux

    /// The diffusers class of the family's denoiser (`UNet2DConditionModel`, `FluxTransformer2DModel`).
    public var denoiserClassName: String {
        switch self {
        case .sdxl: UNet2DConditionModel.className
        case .flux: FluxConfiguration.className
        }
    }

    /// Side of the generated images in pixels.
    public static let imageSize = 32
    /// Side of the latent grid (``PixelUnshuffleCodec``).
    public static let latentSize = imageSize / PixelUnshuffleCodec.factor

    /// The SDXL demo U-Net: SDXL base's block structure (DownBlock2D then two CrossAttnDownBlock2D levels,
    /// a UNetMidBlock2DCrossAttn, text_time conditioning, linear projections, GEGLU) at widths
    /// [32, 64, 64], one layer per block, heads [1, 2, 2] (32 wide; diffusers' `attention_head_dim` is the
    /// head *count*), 64-wide text tokens, a 16 × 16 × 12 latent: 1,729,388 parameters (diffusers counts
    /// the same). Widths [32, 64, 128] (4.17 M) would not fit the 10 MB budget of both shipped models.
    public static var sdxlUNet: UNetConfiguration {
        var c = UNetConfiguration.sdxlBase
        c.sampleSize = latentSize
        c.inChannels = PixelUnshuffleCodec.latentChannels
        c.outChannels = PixelUnshuffleCodec.latentChannels
        c.blockOutChannels = [32, 64, 64]
        c.layersPerBlock = .single(1)
        c.transformerLayersPerBlock = .single(1)
        c.attentionHeadDim = .list([1, 2, 2])
        c.crossAttentionDim = .single(64)
        c.additionTimeEmbedDim = 16
        c.projectionClassEmbeddingsInputDim = 64 + 6 * 16
        c.normNumGroups = 8
        return c
    }

    /// The FLUX demo transformer: 2 double + 2 single blocks, 4 heads × 32 (inner 128), 48 packed input
    /// channels (the 12-channel latent packed 2 × 2), 64-wide text tokens and pooled vector, RoPE axes
    /// (8, 12, 12), no guidance embedding (schnell-style).
    public static let fluxTransformer = FluxConfiguration(
        inChannels: 4 * PixelUnshuffleCodec.latentChannels, doubleBlockCount: 2, singleBlockCount: 2, headDimension: 32,
        headCount: 4, jointAttentionDimension: 64, pooledProjectionDimension: 64, guidanceEmbeds: false,
        ropeAxesDimensions: [8, 12, 12])

    /// SDXL micro-conditioning of the demo images: original and target size 32 × 32, no crop.
    public static let microConditioning = SDXLMicroConditioning(height: imageSize, width: imageSize)

    /// The DDPM noise table the U-Net trains on and samples with: SDXL's scaled_linear betas
    /// 0.00085…0.012 over 1000 steps, v-prediction, sampled by DDIM with trailing spacing and the clean
    /// estimate clipped to [−1, 1] (the latent's range).
    ///
    /// Why v and not SDXL's ε: these betas leave signal at t = 999 (ᾱ = 0.0047), and the shapes latents have
    /// a large mean (−0.93, black background). An ε-model's clean estimate at high noise,
    /// `(x_t − √(1−ᾱ)·ε̂)/√ᾱ`, amplifies its error by `√((1−ᾱ)/ᾱ)` ≈ 15 and never recovers that mean: a
    /// 1,250-step ε-model denoised one step from t = 49 to 0.005 MSE, yet its 20-step DDIM samples ended
    /// with mean −0.23 and full-strength coloured noise (as in `research/demo-feasibility.md` §3). With
    /// `v = √ᾱ·ε − √(1−ᾱ)·x₀` the model predicts `−x₀` itself at high noise.
    public static let sdxlScheduler = DDIMSchedulerConfig(
        numTrainTimesteps: 1000, betaStart: 0.00085, betaEnd: 0.012, betaSchedule: "scaled_linear", clipSample: true,
        setAlphaToOne: false, stepsOffset: 0, predictionType: "v_prediction", timestepSpacing: "trailing")

    /// The classifier-free guidance scale each family samples with by default.
    ///
    /// SDXL: 1 (no guidance). The v-prediction U-Net follows its prompts unguided (86.6 % of 216 images right
    /// in all four attributes at 20 steps), while any guidance breaks it: at 1.5 colour drops to 50 % and at 3 to
    /// 25 % of 216 images (`prunekit demo-sample --model Models/demo-sdxl --count 3 --guidance G --json F`).
    /// Its null-prompt branch alone draws clean random shapes, and the batched and single calls agree to 1e-6,
    /// so the guided sampler is not at fault; the conditional and unconditional x̂₀ of this small model simply
    /// disagree too much at high noise for extrapolation to help. FLUX: 3 (true CFG helps its adherence).
    public var defaultGuidanceScale: Float {
        switch self {
        case .sdxl: 1
        case .flux: 3
        }
    }

    /// EcoDiff's sparsity weight β for each demo family.
    ///
    /// EcoDiff's β (SDXL 0.5, FLUX 0.01) is set against SDXL's and FLUX's own reconstruction losses; the demo
    /// models' final-latent MSE between a masked and the full model is far smaller (≈1e-4 after 4 epochs), so
    /// with the published β the penalty wins everywhere: on the SDXL demo 43 % of all λ end up hovering
    /// around 0 and a 20 % cut among them is nearly random (PSNR 24 dB to the original). Measured with
    /// `prunekit prune --model Models/demo-sdxl --penalty-weight β` (EcoDiff, 20 %, 72 prompts, 4 epochs,
    /// 72 images): β = 0.5 → 24.3 dB, 0.05 → 26.5 dB, 0.005 → 31.2 dB, 5e-4 → 46.4 dB, 5e-5 → 57.0 dB.
    public var ecoDiffPenaltyWeight: Float {
        switch self {
        case .sdxl: 5e-5
        case .flux: 1e-4
        }
    }

    /// The flow-match schedule the FLUX model samples with: σ = linspace(1, 1/n, n), no shift (schnell's).
    public static let fluxScheduler = FlowMatchEulerDiscreteSchedulerConfig(numTrainTimesteps: 1000, shift: 1.0, useDynamicShifting: false)
}
