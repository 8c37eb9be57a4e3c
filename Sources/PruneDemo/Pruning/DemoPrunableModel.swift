import Foundation
import PruneFlux
import PruneKit
import PruneNN
import PruneSDXL
import PruneTensor

/// A demo model as a ``PrunableModel`` that encodes its own prompts (``PromptEncoding``), so every
/// criterion, `prunekit prune --prompts FILE` and the report prune it end to end.
///
/// Units, forward, accounting and export are the denoiser family's own (``SDXLPrunableModel`` /
/// ``FluxPrunableModel`` over the same weights); what differs is the trajectory: the demo's schedule
/// (DDIM v-prediction for the U-Net, flow-match Euler with true classifier-free guidance for the DiT, see
/// ``DemoSampler/trajectory(denoiser:tokens:pooled:nullTokens:nullPooled:settings:)``) at 32 × 32 pixels,
/// with the null prompt of its own text encoder as the unconditional branch. A pruned export carries the
/// tokenizer, text encoder and scheduler config too, so it is a demo model directory itself.
public final class DemoPrunableModel: PrunableModel, PromptEncoding {
    public let demo: DemoModel
    /// The family's prunable view of the same denoiser weights.
    public let denoiser: any PrunableModel
    /// Steps and guidance the model calibrates (and its report samples) with unless told otherwise.
    public let defaultSampling: DemoSamplingSettings
    public let defaultTrajectorySettings: TrajectorySettings

    /// - Parameter sampling: steps and guidance to calibrate with by default (the model card's, usually).
    public init(_ demo: DemoModel, sampling: DemoSamplingSettings? = nil) {
        self.demo = demo
        switch demo.denoiser {
        case .sdxl(let unet): denoiser = SDXLPrunableModel(unet: unet, parameters: demo.denoiserParameters)
        case .flux(let transformer):
            denoiser = FluxPrunableModel(transformer: transformer, parameters: demo.denoiserParameters, textTokenCount: demo.tokenizer.length)
        }
        let settings = sampling ?? DemoSamplingSettings(guidanceScale: demo.architecture.defaultGuidanceScale)
        defaultSampling = DemoSamplingSettings(steps: settings.steps, guidanceScale: settings.guidanceScale)
        defaultTrajectorySettings = TrajectorySettings(
            steps: defaultSampling.steps, guidanceScale: defaultSampling.guidanceScale, height: DemoArchitecture.imageSize,
            width: DemoArchitecture.imageSize)
    }

    /// ``defaultSampling`` with the steps and guidance `settings` gives in their place.
    public func sampling(overriding settings: TrajectorySettings) -> DemoSamplingSettings {
        DemoSamplingSettings(
            steps: settings.steps ?? defaultSampling.steps, guidanceScale: settings.guidanceScale ?? defaultSampling.guidanceScale)
    }

    /// Loads a demo model directory (or a pruned export of one), calibrating by default with the steps and
    /// guidance of its `demo.json` when it has one.
    /// - Throws: ``DemoModelDirectory/load(_:textDirectory:)``'s errors.
    public convenience init(directory: String) throws {
        self.init(try DemoModelDirectory.load(directory), sampling: try DemoModelDirectory.card(directory)?.sampling)
    }

    public var architectureName: String { denoiser.architectureName }
    public var unitGroups: [UnitGroup] { denoiser.unitGroups }
    public var parameters: ParameterStore { denoiser.parameters }
    public var accounting: ModelAccounting { denoiser.accounting }
    /// The family's EcoDiff settings with the sparsity weight β scaled to the demo's loss (see
    /// ``DemoArchitecture/ecoDiffPenaltyWeight``).
    public var ecoDiffSettings: EcoDiffSettings {
        var settings = denoiser.ecoDiffSettings
        settings.objective.penaltyWeight = demo.architecture.ecoDiffPenaltyWeight
        return settings
    }
    public var forwardInputNames: [String] { denoiser.forwardInputNames }

    public func forward(_ inputs: [String: Tensor], masks: UnitMasks) throws -> Tensor {
        try denoiser.forward(inputs, masks: masks)
    }

    /// `prompt_embeds` `[1, L, W]` and `pooled_prompt_embeds` `[1, W]` of the demo text encoder (L = 8, W = 64);
    /// `negative_prompt_embeds` / `negative_pooled_prompt_embeds` are optional (default: the null prompt).
    public var conditioningShapes: [String: [Int]] {
        let text = demo.textEncoder.configuration
        return ["prompt_embeds": [1, text.length, text.width], "pooled_prompt_embeds": [1, text.width]]
    }

    /// The demo schedule for one prompt. The demo models sample with their own scheduler only, at 32 × 32.
    /// - Throws: ``PrunableModelError/badSetting(_:)`` for a scheduler preset, another image size or no steps.
    public func trajectory(conditioning: PromptConditioning, settings: TrajectorySettings, seed: UInt64) throws -> PreparedTrajectory {
        if let scheduler = settings.scheduler {
            throw PrunableModelError.badSetting(
                "the demo models sample with their own scheduler (\(demo.architecture == .sdxl ? "DDIM, v-prediction" : "flow-match Euler")); "
                    + "scheduler preset \(scheduler.rawValue) does not apply")
        }
        let size = DemoArchitecture.imageSize
        guard (settings.height ?? size) == size, (settings.width ?? size) == size else {
            throw PrunableModelError.badSetting("the demo models generate \(size)×\(size) images, got \(settings.height ?? size)×\(settings.width ?? size)")
        }
        var resolved = sampling(overriding: settings)
        guard resolved.steps >= 1 else { throw PrunableModelError.badSetting("steps must be at least 1, got \(resolved.steps)") }
        resolved.batchSize = 1
        let null = try withoutGradients { try demo.encode([nil]) }
        let (trajectory, noiseShape) = try DemoSampler.trajectory(
            denoiser: demo.denoiser, tokens: try conditioning.required("prompt_embeds"),
            pooled: try conditioning.required("pooled_prompt_embeds"),
            nullTokens: conditioning.optional("negative_prompt_embeds") ?? null.tokens,
            nullPooled: conditioning.optional("negative_pooled_prompt_embeds") ?? null.pooled,
            settings: resolved)
        return PreparedTrajectory(AnyDenoisingTrajectory(trajectory), noiseShape: noiseShape)
    }

    public func configurationJSON(sourceDirectory: String?) throws -> Data {
        try denoiser.configurationJSON(sourceDirectory: nil)
    }

    public func prunedConfigurationJSON(sourceDirectory: String?, selection: UnitSelection) throws -> Data {
        try denoiser.prunedConfigurationJSON(sourceDirectory: nil, selection: selection)
    }

    /// The family's export of the pruned denoiser, plus the tokenizer, text encoder and scheduler config,
    /// all appearing at once.
    @discardableResult
    public func exportPruned(
        selection: UnitSelection, to directory: String, provenance: PruningProvenance, replacing: Bool, dtype: DType
    ) throws -> ExportManifest {
        var manifest: ExportManifest?
        try AtomicDirectoryWriter.write(to: directory, replacing: replacing, kind: "export") { root in
            let staging = URL(fileURLWithPath: root).appendingPathComponent("denoiser").path
            manifest = try denoiser.exportPruned(selection: selection, to: staging, provenance: provenance, replacing: false, dtype: dtype)
            let manager = FileManager.default
            for name in try manager.contentsOfDirectory(atPath: staging) where name != OutputMarker.directoryMarker {
                try manager.moveItem(atPath: staging + "/" + name, toPath: root + "/" + name)
            }
            try manager.removeItem(atPath: staging)
            try DemoModelDirectory.writeTextSide(demo, into: root)
        }
        return manifest!
    }

    /// The per-token and pooled embeddings of each prompt.
    /// - Throws: ``PromptTokenizerError`` naming a word outside the demo vocabulary.
    public func encode(prompts: [String]) throws -> [PromptConditioning] {
        try prompts.map { prompt in
            let (tokens, pooled) = try withoutGradients { try demo.encode([prompt]) }
            return PromptConditioning(["prompt_embeds": tokens, "pooled_prompt_embeds": pooled], source: "prompt \"\(prompt)\"")
        }
    }
}
