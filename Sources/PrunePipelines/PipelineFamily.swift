/// The pipeline families PruneKit reads, with the pipeline classes of each and the component classes each
/// slot of `model_index.json` may name.
///
/// This implementation matches: diffusers `pipelines/stable_diffusion_xl/` and `pipelines/flux/` (the
/// text-to-image, img2img and inpaint pipelines of a family share their components; SDXL-Turbo and
/// Lightning repositories are `StableDiffusionXLPipeline`s). Deviation: any `diffusers` class whose name
/// ends in `Scheduler` is accepted in the `scheduler` slot (repositories ship many samplers); PruneKit's
/// own scheduler support is decided where the schedule is built.
public enum PipelineFamily: String, Sendable, CaseIterable {
    case stableDiffusionXL = "sdxl"
    case flux

    /// The `_class_name` values of the family.
    public var pipelineClasses: [String] {
        switch self {
        case .stableDiffusionXL:
            ["StableDiffusionXLPipeline", "StableDiffusionXLImg2ImgPipeline", "StableDiffusionXLInpaintPipeline"]
        case .flux: ["FluxPipeline", "FluxImg2ImgPipeline", "FluxInpaintPipeline"]
        }
    }

    /// The denoiser's slot: `unet` or `transformer`.
    public var denoiser: String {
        switch self {
        case .stableDiffusionXL: "unet"
        case .flux: "transformer"
        }
    }

    /// The component slots and the classes each accepts (`*Scheduler` stands for any scheduler class).
    /// Slots not listed (`image_encoder`, `feature_extractor`, …) must be `null`.
    public var slots: [String: [String]] {
        let tokenizers = ["CLIPTokenizer", "CLIPTokenizerFast"]
        switch self {
        case .stableDiffusionXL:
            return [
                "unet": ["UNet2DConditionModel"], "vae": ["AutoencoderKL"], "text_encoder": ["CLIPTextModel"],
                "text_encoder_2": ["CLIPTextModelWithProjection"], "tokenizer": tokenizers, "tokenizer_2": tokenizers,
                "scheduler": ["*Scheduler"],
            ]
        case .flux:
            return [
                "transformer": ["FluxTransformer2DModel"], "vae": ["AutoencoderKL"], "text_encoder": ["CLIPTextModel"],
                "text_encoder_2": ["T5EncoderModel"], "tokenizer": tokenizers, "tokenizer_2": ["T5TokenizerFast", "T5Tokenizer"],
                "scheduler": ["*Scheduler"],
            ]
        }
    }

    /// The family whose pipeline classes include `className`.
    public init?(pipelineClass className: String) {
        guard let family = Self.allCases.first(where: { $0.pipelineClasses.contains(className) }) else { return nil }
        self = family
    }

    /// Every pipeline class PruneKit reads.
    public static var knownPipelineClasses: [String] { allCases.flatMap(\.pipelineClasses) }

    /// Whether `className` may fill `slot`.
    public func accepts(_ className: String, in slot: String) -> Bool {
        guard let classes = slots[slot] else { return false }
        return classes.contains { $0 == className || ($0 == "*Scheduler" && className.hasSuffix("Scheduler")) }
    }
}
