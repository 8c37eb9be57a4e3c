import PruneNN
import PruneTensor

/// Prompt adherence of a demo model: `samplesPerPrompt` images for each of the 72 prompts from fixed noise,
/// judged by ``AdherenceChecker``.
public struct DemoEvaluation {
    /// Prompts in generation order: round `r` holds every prompt of ``ShapePrompt/all`` once.
    public let prompts: [ShapePrompt]
    /// Generated images `[N, 3, 32, 32]` in [0, 1].
    public let images: Tensor
    /// Final latents `[N, 12, 16, 16]`.
    public let latents: Tensor
    public let report: AdherenceReport
    /// The noise seed (image `i` starts from `DemoSampler.noise(seed:index: i)`).
    public let seed: UInt64

    /// Samples and checks. Image `i` is prompt `ShapePrompt.all[i % 72]` from noise index `i`.
    /// - Throws: what sampling throws.
    public init(model: DemoModel, sampling: DemoSamplingSettings, samplesPerPrompt: Int, seed: UInt64, masks: UnitMasks = .none) throws {
        precondition(samplesPerPrompt > 0, "at least one sample per prompt")
        let prompts = (0..<samplesPerPrompt).flatMap { _ in ShapePrompt.all }
        let sampler = DemoSampler(model: model, settings: sampling)
        let (latents, images) = try sampler.sample(prompts: prompts.map(\.text), seed: seed, noiseIndices: Array(prompts.indices), masks: masks)
        self.prompts = prompts
        self.images = images
        self.latents = latents
        self.seed = seed
        report = AdherenceReport(images: images.scalars(), size: DemoArchitecture.imageSize, prompts: prompts)
    }

    /// The first round's 72 images as a 6-column grid: one row per shape and colour, columns left, right,
    /// top, bottom, center, pair.
    public var firstRoundGrid: RGBImage {
        RGBImage.grid(images.sliced(axis: 0, 0..<ShapePrompt.all.count).contiguous(), columns: 6)
    }
}
