import Foundation
import PruneKit
import PruneNN
import PruneTensor

/// An SDXL-family U-Net as a ``PrunableModel``: its heads and FFN neurons, a masked forward on diffusers'
/// argument names, and the SDXL pipeline's denoising loop (classifier-free guidance, micro-conditioning,
/// any of the SDXL scheduler presets, step-distilled ones included).
public final class SDXLPrunableModel: PrunableModel {
    public let unet: UNet2DConditionModel
    public let parameters: ParameterStore
    public let defaultTrajectorySettings: TrajectorySettings
    /// Whether the default image size is the U-Net's own (`sample_size` latents), so it follows the VAE scale factor.
    let sizeFollowsVAE: Bool

    /// - Parameter defaults: the schedule, steps, guidance and size to sample with; unset fields fall back
    ///   to SDXL base's scheduler and `sample_size × 8` pixels (`× vae_scale_factor` when a trajectory's
    ///   settings give one).
    public init(unet: UNet2DConditionModel, parameters: ParameterStore, defaults: TrajectorySettings = TrajectorySettings()) {
        self.unet = unet
        self.parameters = parameters
        sizeFollowsVAE = defaults.height == nil && defaults.width == nil
        let pixels = (unet.configuration.sampleSize ?? 128) * 8
        defaultTrajectorySettings = defaults.filled(
            from: TrajectorySettings(scheduler: .sdxlBase, height: pixels, width: pixels))
    }

    public var architectureName: String { UNet2DConditionModel.className }
    public var unitGroups: [UnitGroup] { unet.unitGroups }
    public var ecoDiffSettings: EcoDiffSettings { .sdxl }
    public var forwardInputNames: [String] {
        ["sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids", "timestep_cond"]
    }

    /// `prompt_embeds` `[1, 77, cross_attention_dim]` and, for `text_time` models, `pooled_prompt_embeds`
    /// `[1, projection_class_embeddings_input_dim − 6·addition_time_embed_dim]`.
    public var conditioningShapes: [String: [Int]] {
        let configuration = unet.configuration
        let crossAttentionWidth: Int
        switch configuration.crossAttentionDim {
        case .single(let width): crossAttentionWidth = width
        case .list(let widths): crossAttentionWidth = widths.first ?? 2048
        }
        var shapes = ["prompt_embeds": [1, 77, crossAttentionWidth]]
        if configuration.additionEmbedType == "text_time", let projection = configuration.projectionClassEmbeddingsInputDim {
            shapes["pooled_prompt_embeds"] = [1, projection - 6 * (configuration.additionTimeEmbedDim ?? 0)]
        }
        return shapes
    }

    public func forward(_ inputs: [String: Tensor], masks: UnitMasks) throws -> Tensor {
        try unet(
            UNetInputs(
                sample: try requiredInput("sample", in: inputs), timestep: try requiredInput("timestep", in: inputs),
                encoderHiddenStates: try requiredInput("encoder_hidden_states", in: inputs), textEmbeds: inputs["text_embeds"],
                timeIDs: inputs["time_ids"], timestepCondition: inputs["timestep_cond"]),
            masks: masks)
    }

    /// The SDXL pipeline's loop. Besides the prompt embeddings, `conditioning` may hold the pipeline's
    /// micro-conditioning arguments as `[2]` tensors: `original_size` and `target_size` (height, width; default
    /// the image size) and `crops_coords_top_left` (top, left; default 0, 0).
    public func trajectory(conditioning: PromptConditioning, settings: TrajectorySettings, seed: UInt64) throws -> PreparedTrajectory {
        var settings = settings
        if sizeFollowsVAE, let factor = settings.vaeScaleFactor {
            let pixels = (unet.configuration.sampleSize ?? 128) * factor
            settings.height = settings.height ?? pixels
            settings.width = settings.width ?? pixels
        }
        let resolved = try settings.resolved(defaults: defaultTrajectorySettings)
        let factor = resolved.vaeScaleFactor
        guard resolved.height % factor == 0, resolved.width % factor == 0 else {
            throw PrunableModelError.badSetting("SDXL image sizes are multiples of \(factor), got \(resolved.height)×\(resolved.width)")
        }
        let latentShape = [1, unet.configuration.inChannels, resolved.height / factor, resolved.width / factor]
        let sampler = try SDXLSampler(
            unet: unet, scheduler: try resolved.schedulerConfiguration.makeScheduler(), steps: resolved.steps,
            guidanceScale: resolved.guidanceScale,
            conditioning: SDXLConditioning(
                promptEmbeds: try conditioning.required("prompt_embeds"),
                pooledPromptEmbeds: unet.configuration.additionEmbedType == "text_time"
                    ? try conditioning.required("pooled_prompt_embeds")
                    : conditioning.optional("pooled_prompt_embeds") ?? Tensor.zeros([1, 0]),
                negativePromptEmbeds: conditioning.optional("negative_prompt_embeds"),
                negativePooledPromptEmbeds: conditioning.optional("negative_pooled_prompt_embeds")),
            microConditioning: try Self.microConditioning(conditioning, height: resolved.height, width: resolved.width))
        return PreparedTrajectory(
            SDXLTrajectory(sampler: sampler, latentShape: latentShape, seed: seed), noiseShape: latentShape, settings: resolved)
    }

    /// The pipeline's micro-conditioning from `original_size`, `crops_coords_top_left` and `target_size` in
    /// `conditioning` (`[2]` each), defaulting to an image of `height × width` without a crop.
    /// - Throws: ``PrunableModelError/badSetting(_:)`` for a tensor that is not two values.
    static func microConditioning(_ conditioning: PromptConditioning, height: Int, width: Int) throws -> SDXLMicroConditioning {
        func pair(_ name: String, default value: (Int, Int)) throws -> (Int, Int) {
            guard let tensor = conditioning.optional(name) else { return value }
            let values = tensor.scalars()
            guard values.count == 2 else {
                throw PrunableModelError.badSetting("\(conditioning.source): \(name) must hold two values, got \(tensor.shape)")
            }
            return (Int(values[0]), Int(values[1]))
        }
        return SDXLMicroConditioning(
            originalSize: try pair("original_size", default: (height, width)),
            cropsCoordinatesTopLeft: try pair("crops_coords_top_left", default: (0, 0)),
            targetSize: try pair("target_size", default: (height, width)))
    }

    public func configurationJSON(sourceDirectory: String?) throws -> Data {
        try unet.configurationJSON(sourceDirectory: sourceDirectory)
    }

    public func prunedConfigurationJSON(sourceDirectory: String?, selection: UnitSelection) throws -> Data {
        try unet.prunedConfigurationJSON(sourceDirectory: sourceDirectory, selection: selection)
    }

    /// The U-Net's export (``UNet2DConditionModel/exportPruned(parameters:selection:to:provenance:replacing:dtype:)``),
    /// identity padding blocks included.
    @discardableResult
    public func exportPruned(
        selection: UnitSelection, to directory: String, provenance: PruningProvenance = PruningProvenance(),
        replacing: Bool = false, dtype: DType = .float32
    ) throws -> ExportManifest {
        try unet.exportPruned(
            parameters: parameters, selection: selection, to: directory, provenance: provenance, replacing: replacing, dtype: dtype)
    }
}

/// The SDXL family: `UNet2DConditionModel` directories and the SDXL presets (base, Turbo, Lightning,
/// and small bench/test configurations of the same block structure).
public struct SDXLArchitecture: PrunableArchitecture {
    public init() {}

    public var name: String { "sdxl" }
    public var summary: String { "SDXL-family UNet2DConditionModel (base, Turbo, Lightning, LCM-style)" }
    public var classNames: [String] { [UNet2DConditionModel.className] }

    public var presets: [ModelPresetDescriptor] {
        [
            ModelPresetDescriptor(
                name: "sdxl-base", summary: "SDXL 1.0 base U-Net (2.57 B parameters), Euler 50 steps, CFG 5, 1024²",
                trajectory: TrajectorySettings(scheduler: .sdxlBase, height: 1024, width: 1024)),
            ModelPresetDescriptor(
                name: "sdxl-turbo", summary: "SDXL-Turbo: the base U-Net, Euler-ancestral trailing, 1 step, no CFG, 512²",
                trajectory: TrajectorySettings(scheduler: .sdxlTurbo, height: 512, width: 512)),
            ModelPresetDescriptor(
                name: "sdxl-lightning", summary: "SDXL-Lightning 4-step: the base U-Net, Euler trailing, no CFG, 1024²",
                trajectory: TrajectorySettings(scheduler: .sdxlLightning, height: 1024, width: 1024)),
            ModelPresetDescriptor(
                name: "sdxl-bench",
                summary: "SDXL block structure at bench size (widths 128/256/512, 209 M parameters), 256², 4 steps",
                trajectory: TrajectorySettings(scheduler: .sdxlBase, steps: 4, height: 256, width: 256)),
            ModelPresetDescriptor(
                name: "sdxl-tiny", summary: "diffusers' tiny SDXL test U-Net (widths 2/4), 256², 4 steps",
                trajectory: TrajectorySettings(scheduler: .sdxlBase, steps: 4, height: 256, width: 256)),
        ]
    }

    /// The U-Net configuration of a preset.
    /// - Throws: ``ArchitectureRegistryError/unknownPreset(name:known:)``.
    public func configuration(preset: String) throws -> UNetConfiguration {
        switch preset {
        case "sdxl-base", "sdxl-turbo", "sdxl-lightning": .sdxlBase
        case "sdxl-bench": .sdxlBench
        case "sdxl-tiny": .sdxlTinyTest
        default: throw ArchitectureRegistryError.unknownPreset(name: preset, known: presets.map(\.name))
        }
    }

    public func load(directory: String) throws -> any PrunableModel {
        let (unet, store) = try UNet2DConditionModel.load(directory: directory)
        return SDXLPrunableModel(unet: unet, parameters: store)
    }

    /// Builds the prunable model over `source` (diffusers names) with `configuration` — how a single-file
    /// checkpoint's U-Net loads.
    public func load(configuration: UNetConfiguration, source: any TensorSource, sourceName: String) throws -> any PrunableModel {
        let (unet, store) = try UNet2DConditionModel.load(configuration: configuration, source: source, sourceName: sourceName)
        return SDXLPrunableModel(unet: unet, parameters: store)
    }

    public func makeModel(preset: String, seed: UInt64) throws -> any PrunableModel {
        let configuration = try configuration(preset: preset)
        let store = ParameterStore(randomSeed: seed)
        let unet = try UNet2DConditionModel(configuration, weights: store.root)
        try store.finish()
        let defaults = presets.first { $0.name == preset }?.trajectory ?? TrajectorySettings()
        return SDXLPrunableModel(unet: unet, parameters: store, defaults: defaults)
    }

    /// The preset's unit groups and parameter shapes from a shapes-only build (no weights allocated).
    public func layout(preset: String) throws -> ModelLayout {
        try UNet2DConditionModel.layout(of: try configuration(preset: preset))
    }
}
