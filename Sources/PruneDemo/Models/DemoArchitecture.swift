import PruneFlux
import PruneKit
import PruneSDXL

/// The two demo model families.
public enum DemoArchitecture: String, Sendable, CaseIterable, Codable {
    /// An SDXL-architecture `UNet2DConditionModel` trained for DDPM ε-prediction on SDXL's betas.
    case sdxl
    /// A FLUX-architecture `FluxTransformer2DModel` trained for rectified flow.
    case flux

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
    /// 0.00085…0.012 over 1000 steps, sampled by DDIM with trailing spacing and the clean estimate clipped
    /// to [−1, 1] (the latent's range).
    public static let sdxlScheduler = DDIMSchedulerConfig(
        numTrainTimesteps: 1000, betaStart: 0.00085, betaEnd: 0.012, betaSchedule: "scaled_linear", clipSample: true,
        setAlphaToOne: false, stepsOffset: 0, predictionType: "epsilon", timestepSpacing: "trailing")

    /// The flow-match schedule the FLUX model samples with: σ = linspace(1, 1/n, n), no shift (schnell's).
    public static let fluxScheduler = FlowMatchEulerDiscreteSchedulerConfig(numTrainTimesteps: 1000, shift: 1.0, useDynamicShifting: false)
}
