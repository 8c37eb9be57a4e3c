import PruneDemo
import PruneFlux
import PruneSDXL

/// Tiny demo-model configurations for fast tests: the real block structures at toy widths (shared by the
/// demo library's tests and the CLI's).
public enum TinyDemoModels {
    /// A 16-wide text encoder with 2 heads.
    public static let textEncoder = DemoTextEncoderConfiguration(
        vocabularySize: PromptTokenizer.shapes.vocabularySize, length: PromptTokenizer.shapes.length, width: 16, heads: 2)

    /// A two-level SDXL-structure U-Net (DownBlock2D + CrossAttnDownBlock2D, cross-attention mid block,
    /// text_time) at widths [8, 16] with 2 heads of 8 on the attention level.
    public static var unet: UNetConfiguration {
        var c = DemoArchitecture.sdxlUNet
        c.blockOutChannels = [8, 16]
        c.downBlockTypes = ["DownBlock2D", "CrossAttnDownBlock2D"]
        c.upBlockTypes = ["CrossAttnUpBlock2D", "UpBlock2D"]
        c.attentionHeadDim = .list([1, 2])
        c.crossAttentionDim = .single(16)
        c.additionTimeEmbedDim = 4
        c.projectionClassEmbeddingsInputDim = 16 + 6 * 4
        c.normNumGroups = 4
        return c
    }

    /// One double and one single FLUX block, 2 heads × 8.
    public static let flux = FluxConfiguration(
        inChannels: 48, doubleBlockCount: 1, singleBlockCount: 1, headDimension: 8, headCount: 2, jointAttentionDimension: 16,
        pooledProjectionDimension: 16, guidanceEmbeds: false, ropeAxesDimensions: [2, 2, 4])

    public static func model(_ architecture: DemoArchitecture, seed: UInt64 = 0) throws -> DemoModel {
        try DemoModel.random(architecture, seed: seed, unet: unet, flux: flux, textEncoder: textEncoder)
    }
}
