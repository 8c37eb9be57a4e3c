import Foundation
import PruneKit
import PruneNN
import PruneTensor

/// A FLUX transformer as a ``PrunableModel``: its heads and FFN neurons (double and single blocks), a
/// masked forward on diffusers' argument names, and the FLUX pipeline's loop (packed latents, shifted
/// flow-match schedule, embedded guidance for dev).
public final class FluxPrunableModel: PrunableModel {
    public let transformer: FluxTransformer2DModel
    public let parameters: ParameterStore
    public let defaultTrajectorySettings: TrajectorySettings
    /// Text tokens of `prompt_embeds` the model is conditioned on (T5: 512 for FLUX.1; fewer for bench configs).
    public let textTokenCount: Int

    /// - Parameter defaults: unset fields fall back to FLUX-dev's schedule for models with a guidance
    ///   embedding and FLUX-schnell's otherwise, at 1024².
    public init(
        transformer: FluxTransformer2DModel, parameters: ParameterStore, defaults: TrajectorySettings = TrajectorySettings(),
        textTokenCount: Int = 512
    ) {
        self.transformer = transformer
        self.parameters = parameters
        self.textTokenCount = textTokenCount
        defaultTrajectorySettings = defaults.filled(
            from: TrajectorySettings(
                scheduler: transformer.configuration.guidanceEmbeds ? .fluxDev : .fluxSchnell, height: 1024, width: 1024))
    }

    public var architectureName: String { FluxConfiguration.className }
    public var unitGroups: [UnitGroup] { transformer.unitGroups }
    public var ecoDiffSettings: EcoDiffSettings { .flux }
    public var forwardInputNames: [String] {
        ["hidden_states", "timestep", "encoder_hidden_states", "pooled_projections", "img_ids", "txt_ids", "guidance"]
    }

    /// `prompt_embeds` `[1, textTokenCount, joint_attention_dim]` and `pooled_prompt_embeds` `[1, pooled_projection_dim]`.
    public var conditioningShapes: [String: [Int]] {
        [
            "prompt_embeds": [1, textTokenCount, transformer.configuration.jointAttentionDimension],
            "pooled_prompt_embeds": [1, transformer.configuration.pooledProjectionDimension],
        ]
    }

    public func forward(_ inputs: [String: Tensor], masks: UnitMasks) throws -> Tensor {
        try transformer(
            FluxInputs(
                hiddenStates: try requiredInput("hidden_states", in: inputs),
                encoderHiddenStates: try requiredInput("encoder_hidden_states", in: inputs),
                pooledProjections: try requiredInput("pooled_projections", in: inputs),
                timestep: try requiredInput("timestep", in: inputs), imageIDs: try requiredInput("img_ids", in: inputs),
                textIDs: try requiredInput("txt_ids", in: inputs), guidance: inputs["guidance"]),
            masks: masks)
    }

    public func trajectory(conditioning: PromptConditioning, settings: TrajectorySettings, seed: UInt64) throws -> PreparedTrajectory {
        let resolved = try settings.resolved(defaults: defaultTrajectorySettings)
        guard case .flowMatchEulerDiscrete(let config) = resolved.schedulerConfiguration else {
            throw PrunableModelError.badSetting(
                "FLUX samples with FlowMatchEulerDiscreteScheduler, not \(resolved.schedulerConfiguration.className)"
                    + (settings.schedulerConfiguration == nil ? " (preset \(resolved.scheduler.rawValue))" : ""))
        }
        // FluxPipeline.prepare_latents: 2·(H // 2f) × 2·(W // 2f) latent rows and columns (f: the VAE scale factor), packed 2×2.
        let packing = 2 * resolved.vaeScaleFactor
        guard resolved.height >= packing, resolved.width >= packing else {
            throw PrunableModelError.badSetting("FLUX images are at least \(packing)×\(packing) pixels, got \(resolved.height)×\(resolved.width)")
        }
        let (rows, columns) = (2 * (resolved.height / packing), 2 * (resolved.width / packing))
        let sampler = try FluxSampler(
            transformer: transformer, scheduler: try FlowMatchEulerDiscreteScheduler(config: config), steps: resolved.steps,
            guidanceScale: resolved.guidanceScale, promptEmbeds: try conditioning.required("prompt_embeds"),
            pooledPromptEmbeds: try conditioning.required("pooled_prompt_embeds"), latentHeight: rows, latentWidth: columns)
        return PreparedTrajectory(
            sampler, noiseShape: [1, (rows / 2) * (columns / 2), transformer.configuration.inChannels], settings: resolved)
    }

    public func configurationJSON(sourceDirectory: String?) throws -> Data {
        try transformer.configurationJSON(sourceDirectory: sourceDirectory.map(FluxModelLoader.resolvedModelDirectory))
    }

    public func prunedConfigurationJSON(sourceDirectory: String?, selection: UnitSelection) throws -> Data {
        try transformer.prunedConfigurationJSON(
            sourceDirectory: sourceDirectory.map(FluxModelLoader.resolvedModelDirectory), selection: selection)
    }

    @discardableResult
    public func exportPruned(
        selection: UnitSelection, to directory: String, provenance: PruningProvenance = PruningProvenance(),
        replacing: Bool = false, dtype: DType = .float32
    ) throws -> ExportManifest {
        try transformer.exportPruned(
            parameters: parameters, selection: selection, to: directory, provenance: provenance, replacing: replacing, dtype: dtype)
    }
}

/// The FLUX family: `FluxTransformer2DModel` directories (diffusers layout, pruned exports included) and
/// the FLUX presets.
public struct FluxArchitecture: PrunableArchitecture {
    public init() {}

    public var name: String { "flux" }
    public var summary: String { "FLUX.1 FluxTransformer2DModel (dev, schnell)" }
    public var classNames: [String] { [FluxConfiguration.className] }

    public var presets: [ModelPresetDescriptor] {
        [
            ModelPresetDescriptor(
                name: "flux-dev", summary: "FLUX.1-dev transformer (11.9 B parameters), 28 steps, guidance 3.5, 1024²",
                trajectory: TrajectorySettings(scheduler: .fluxDev, height: 1024, width: 1024)),
            ModelPresetDescriptor(
                name: "flux-schnell", summary: "FLUX.1-schnell transformer (11.9 B parameters), 4 steps, no guidance, 1024²",
                trajectory: TrajectorySettings(scheduler: .fluxSchnell, height: 1024, width: 1024)),
            ModelPresetDescriptor(
                name: "flux-dev-slice",
                summary: "FLUX.1-dev widths with 1 double and 1 single block (0.5 B parameters), 28 steps, guidance 3.5, 1024²: "
                    + "times FLUX.1-dev's blocks where its 11.9 B parameters do not fit",
                trajectory: TrajectorySettings(scheduler: .fluxDev, height: 1024, width: 1024)),
            ModelPresetDescriptor(
                name: "flux-bench", summary: "FLUX block structure at bench size (4+8 blocks, 8×64 heads, 72 M parameters), 256², 4 steps",
                trajectory: TrajectorySettings(scheduler: .fluxDev, steps: 4, height: 256, width: 256)),
        ]
    }

    /// The configuration and text length of a preset.
    /// - Throws: ``ArchitectureRegistryError/unknownPreset(name:known:)``.
    public func configuration(preset: String) throws -> (configuration: FluxConfiguration, textTokens: Int) {
        switch preset {
        case "flux-dev": (.fluxDev, 512)
        case "flux-schnell": (.fluxSchnell, 256)
        case "flux-dev-slice": (.fluxDevSlice, 512)
        case "flux-bench": (.fluxBench, 128)
        default: throw ArchitectureRegistryError.unknownPreset(name: preset, known: presets.map(\.name))
        }
    }

    public func load(directory: String) throws -> any PrunableModel {
        let loaded = try FluxModelLoader.load(directory: directory, widths: .inferredFromWeights)
        return FluxPrunableModel(transformer: loaded.model, parameters: loaded.parameters)
    }

    public func makeModel(preset: String, seed: UInt64) throws -> any PrunableModel {
        let (configuration, textTokens) = try configuration(preset: preset)
        let store = ParameterStore(randomSeed: seed)
        let transformer = FluxTransformer2DModel(configuration: configuration, weights: store.root)
        try store.finish()
        let defaults = presets.first { $0.name == preset }?.trajectory ?? TrajectorySettings()
        return FluxPrunableModel(transformer: transformer, parameters: store, defaults: defaults, textTokenCount: textTokens)
    }

    /// The preset's unit groups and parameter shapes, from its configuration alone (no weights allocated).
    public func layout(preset: String) throws -> ModelLayout {
        FluxTransformer2DModel.layout(configuration: try configuration(preset: preset).configuration)
    }
}
