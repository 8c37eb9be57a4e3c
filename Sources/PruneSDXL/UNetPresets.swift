/// Named configurations of the SDXL family.
extension UNetConfiguration {
    /// stabilityai/stable-diffusion-xl-base-1.0 `unet/config.json` (see shared research architectures.md §1.1).
    /// SDXL-Turbo and SDXL-Lightning use the same U-Net configuration; they differ in weights and schedule.
    public static var sdxlBase: UNetConfiguration {
        var c = UNetConfiguration()
        c.sampleSize = 128
        c.inChannels = 4
        c.outChannels = 4
        c.downBlockTypes = ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"]
        c.upBlockTypes = ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"]
        c.blockOutChannels = [320, 640, 1280]
        c.layersPerBlock = .single(2)
        c.transformerLayersPerBlock = .list([1, 2, 10])
        c.attentionHeadDim = .list([5, 10, 20])
        c.crossAttentionDim = .single(2048)
        c.useLinearProjection = true
        c.additionEmbedType = "text_time"
        c.additionTimeEmbedDim = 256
        c.projectionClassEmbeddingsInputDim = 2816
        c.normNumGroups = 32
        c.normEps = 1e-5
        return c
    }

    /// diffusers' SDXL pipeline test U-Net (`tests/pipelines/stable_diffusion_xl/test_stable_diffusion_xl.py`,
    /// `get_dummy_components`).
    public static var sdxlTinyTest: UNetConfiguration {
        var c = UNetConfiguration()
        c.sampleSize = 32
        c.blockOutChannels = [2, 4]
        c.layersPerBlock = .single(2)
        c.downBlockTypes = ["DownBlock2D", "CrossAttnDownBlock2D"]
        c.upBlockTypes = ["CrossAttnUpBlock2D", "UpBlock2D"]
        c.attentionHeadDim = .list([2, 4])
        c.useLinearProjection = true
        c.additionEmbedType = "text_time"
        c.additionTimeEmbedDim = 8
        c.transformerLayersPerBlock = .list([1, 2])
        c.projectionClassEmbeddingsInputDim = 80
        c.crossAttentionDim = .single(64)
        c.normNumGroups = 1
        return c
    }
}

extension UNetConfiguration {
    /// The bench-size SDXL-like U-Net used by PruneKit's benchmarks: SDXL base's block structure (DownBlock2D
    /// then two cross-attention levels, text_time conditioning, linear projections, GEGLU, 64-wide heads) at
    /// two fifths of its widths — channels [128, 256, 512], heads [2, 4, 8], transformer depths [1, 2, 4],
    /// 768-wide text tokens: 209,159,684 parameters, 464 heads, 59,392 FFN neurons. Benchmarks run it on a
    /// 32×32 latent (256 px image) with 77 text tokens.
    public static var sdxlBench: UNetConfiguration {
        var c = UNetConfiguration.sdxlBase
        c.sampleSize = 32
        c.blockOutChannels = [128, 256, 512]
        c.attentionHeadDim = .list([2, 4, 8])
        c.transformerLayersPerBlock = .list([1, 2, 4])
        c.crossAttentionDim = .single(768)
        c.additionTimeEmbedDim = 64
        c.projectionClassEmbeddingsInputDim = 512 + 6 * 64
        return c
    }
}
