import ArgumentParser
import Foundation
import PruneFlux
import PruneKit
import PruneNN
import PrunePipelines
import PruneSDXL
import PruneTensor

/// The options of a text-to-latents run, shared by `sample` (which writes the latents) and `generate` (which
/// decodes them to a picture), and the run itself: the conditioning (an embeddings file, or a prompt through the
/// pipeline's own encoders), the schedule, the initial noise and the SDXL or FLUX sampling loop.
struct SamplingOptions: ParsableArguments {
    @Option(help: "A model: a diffusers pipeline folder, an SDXL single file, or a bare denoiser folder (with --embeddings).")
    var model: String
    @Option(help: "A safetensors file with the prompt embeddings (e.g. from `prunekit encode-prompt`).") var embeddings: String?
    @Option(help: "A prompt, encoded by --model's own text encoders (a pipeline folder or an SDXL single file), instead of --embeddings.")
    var prompt: String?
    @Option(help: "--prompt: the negative prompt (SDXL default: zeros, as diffusers; FLUX: true CFG needs one).") var negativePrompt: String?
    @Option(help: "--prompt with FLUX: T5 tokens (1…512, default 512).") var maxSequenceLength: Int?
    @Option(help: "--prompt: take tokenizer/ and tokenizer_2/ from this pipeline folder.") var tokenizer: String?
    @Option(
        help: """
            Scheduler and defaults: \(SchedulerPreset.allCases.map(\.rawValue).joined(separator: ", ")) (default: sdxl-base for SDXL, \
            flux-dev or flux-schnell for FLUX by guidance_embeds, with a pipeline folder's own scheduler_config.json).
            """)
    var preset: String?
    @Option(help: "A scheduler_config.json replacing the preset's (or the pipeline's) scheduler.") var scheduler: String?
    @Option(help: "Inference steps (default: the preset's).") var steps: Int?
    @Option(help: "Guidance scale (default: the preset's).") var guidance: Float?
    @Option(help: "Seed of the initial noise.") var seed: UInt64 = 0
    @Option(
        name: [.customLong("noise"), .customLong("latents")],
        help: "A safetensors file whose `latents` tensor is the initial noise (SDXL: unscaled [1, C, h, w]; FLUX: packed [1, tokens, 4C]).")
    var noise: String?
    @Option(help: "Image height in pixels (SDXL default: sample_size × 8; FLUX: 1024).") var height: Int?
    @Option(help: "Image width in pixels (SDXL default: sample_size × 8; FLUX: 1024).") var width: Int?
    @Option(parsing: .upToNextOption, help: "SDXL original_size as HEIGHT WIDTH (default: the image size).")
    var originalSize: [Int] = []
    @Option(parsing: .upToNextOption, help: "SDXL crops_coords_top_left as TOP LEFT (default: 0 0).")
    var cropTopLeft: [Int] = []
    @Option(parsing: .upToNextOption, help: "SDXL target_size as HEIGHT WIDTH (default: the image size).")
    var targetSize: [Int] = []
    @Option(help: "A safetensors file of unit masks (mask.<module key>).") var masks: String?

    /// The files the run reads.
    var inputPaths: [InputPath] {
        CommandOutputs.inputs([
            ("--model", model), ("--embeddings", embeddings), ("--scheduler", scheduler), ("--latents", noise), ("--masks", masks),
            ("--tokenizer", tokenizer),
        ])
    }

    func validate() throws {
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps)") }
        guard (embeddings == nil) != (prompt == nil) else { throw ValidationError("give exactly one of --embeddings FILE and --prompt TEXT") }
        if prompt == nil, negativePrompt != nil || maxSequenceLength != nil || tokenizer != nil {
            throw ValidationError("--negative-prompt, --max-sequence-length and --tokenizer apply to --prompt")
        }
        if prompt != nil, !PipelineTextConditioning.canLoad(model) {
            throw ValidationError("--prompt needs --model to be a diffusers pipeline folder or an SDXL single file (with text encoders); \(model) is not")
        }
        if let maxSequenceLength, !(1...512).contains(maxSequenceLength) {
            throw ValidationError("--max-sequence-length must be in 1…512, got \(maxSequenceLength)")
        }
        if let preset { _ = try SchedulerPreset(name: preset) }
        for (name, values) in [("--original-size", originalSize), ("--crop-top-left", cropTopLeft), ("--target-size", targetSize)]
        where !values.isEmpty && values.count != 2 {
            throw ValidationError("\(name) takes two numbers, got \(values.count)")
        }
    }

    /// What a run produced.
    struct Result {
        /// `latents` (and `trace.<i>` when asked for).
        var tensors: [String: Tensor]
        var preset: SchedulerPreset
        var steps: Int
        var pixelHeight: Int
        var pixelWidth: Int
        /// Whether the model is a FLUX transformer (packed latents) rather than an SDXL U-Net.
        var isFlux: Bool
        var guidanceScale: Float
        /// The scheduler's diffusers class name.
        var schedulerName: String
    }

    /// Runs the sampling loop, with progress per step on stderr.
    func run(trace: Bool) throws -> Result {
        let unitMasks = try masks.map(UnitMasks.load(path:)) ?? .none
        let conditioning = try promptConditioning()  // encoders released before the denoiser loads
        return try run(denoiser: try Architectures.loadModel(directory: model), conditioning: conditioning, masks: unitMasks, trace: trace)
    }

    /// Runs the sampling loop with `loaded` as the denoiser — `--model`'s own, or another one of the same family (a
    /// pruned export of it) — while `--model` still gives the scheduler and the VAE's scale factor.
    /// - Parameter stepLabel: put before each step's progress line.
    func run(
        denoiser loaded: any PrunableModel, conditioning: Conditioning, masks unitMasks: UnitMasks, trace: Bool, stepLabel: String = ""
    ) throws -> Result {
        func tensor(_ name: String) throws -> Tensor {
            guard let tensor = try conditioning.tensor(name) else { throw CLIError.missingInput(path: conditioning.source, name: name) }
            return tensor
        }
        func optional(_ name: String) throws -> Tensor? { try conditioning.tensor(name) }

        var tensors: [String: Tensor] = [:]
        if let sdxl = loaded as? SDXLPrunableModel {
            let unet = sdxl.unet
            let preset = try resolvedPreset(default: .sdxlBase)
            let stepCount = steps ?? preset.defaultSteps
            let sampleSize = unet.configuration.sampleSize ?? 128
            let factor = vaeScaleFactor
            let pixelsHigh = height ?? sampleSize * factor
            let pixelsWide = width ?? sampleSize * factor
            let latentShape = [1, unet.configuration.inChannels, pixelsHigh / factor, pixelsWide / factor]
            let initialNoise = try loadNoise(shape: latentShape)
            let schedulerConfiguration = try schedulerConfiguration(preset)
            let guidanceScale = guidance ?? preset.defaultGuidance
            let sampler = try SDXLSampler(
                unet: unet, scheduler: try schedulerConfiguration.makeScheduler(), steps: stepCount, guidanceScale: guidanceScale,
                conditioning: SDXLConditioning(
                    promptEmbeds: try tensor("prompt_embeds"), pooledPromptEmbeds: try tensor("pooled_prompt_embeds"),
                    negativePromptEmbeds: try optional("negative_prompt_embeds"),
                    negativePooledPromptEmbeds: try optional("negative_pooled_prompt_embeds")),
                microConditioning: microConditioning(height: pixelsHigh, width: pixelsWide))
            var stepGenerator = SeededGenerator(seed: seed &+ 1)
            let total = sampler.stepCount
            let final = try withoutGradients {
                try sampler.run(
                    noise: initialNoise, masks: unitMasks,
                    stepNoise: { _ in Tensor.randomNormal(latentShape, using: &stepGenerator) },
                    onStep: { index, latents in
                        if trace { tensors["trace.\(index)"] = latents }
                        printProgress("\(stepLabel)step \(index + 1)/\(total)")
                    })
            }
            tensors["latents"] = final
            return Result(
                tensors: tensors, preset: preset, steps: stepCount, pixelHeight: pixelsHigh, pixelWidth: pixelsWide, isFlux: false,
                guidanceScale: guidanceScale, schedulerName: schedulerConfiguration.className)
        }
        guard let fluxModel = loaded as? FluxPrunableModel else {
            throw CLIError.badOption("sampling supports SDXL and FLUX models; \(model) is a \(loaded.architectureName)")
        }
        let flux = fluxModel.transformer
        let preset = try resolvedPreset(default: flux.configuration.guidanceEmbeds ? .fluxDev : .fluxSchnell)
        let stepCount = steps ?? preset.defaultSteps
        let guidanceScale = guidance ?? preset.defaultGuidance
        guard case .flowMatchEulerDiscrete(let config) = try schedulerConfiguration(preset) else {
            throw CLIError.badOption("FLUX samples with FlowMatchEulerDiscreteScheduler, not \(try schedulerConfiguration(preset).className)")
        }
        let pixelsHigh = height ?? 1024
        let pixelsWide = width ?? 1024
        // FluxPipeline.prepare_latents: 2·(H // 2f) × 2·(W // 2f) latent rows and columns (f = 8 for FLUX's VAE), packed 2×2.
        let factor = vaeScaleFactor
        let (latentRows, latentColumns) = (2 * (pixelsHigh / (2 * factor)), 2 * (pixelsWide / (2 * factor)))
        let packedShape = [1, (latentRows / 2) * (latentColumns / 2), flux.configuration.inChannels]
        let sampler = try FluxSampler(
            transformer: flux, scheduler: try FlowMatchEulerDiscreteScheduler(config: config), steps: stepCount,
            guidanceScale: guidanceScale, promptEmbeds: try tensor("prompt_embeds"),
            pooledPromptEmbeds: try tensor("pooled_prompt_embeds"), latentHeight: latentRows, latentWidth: latentColumns)
        let total = sampler.stepCount
        let final = try withoutGradients {
            try sampler.run(noise: try loadNoise(shape: packedShape), masks: unitMasks, onStep: { index, latents in
                if trace { tensors["trace.\(index)"] = latents }
                printProgress("\(stepLabel)step \(index + 1)/\(total)")
            })
        }
        tensors["latents"] = final
        return Result(
            tensors: tensors, preset: preset, steps: stepCount, pixelHeight: pixelsHigh, pixelWidth: pixelsWide, isFlux: true,
            guidanceScale: guidanceScale, schedulerName: "FlowMatchEulerDiscreteScheduler")
    }

    /// diffusers' `vae_scale_factor`, 2^(levels − 1) of the pipeline's VAE (8 for SDXL's and FLUX's); 8 for a bare
    /// denoiser folder.
    var vaeScaleFactor: Int {
        var levels: Int?
        if PipelineFolder.isPipelineFolder(model) {
            levels = (try? PipelineFolder(path: model).configuration(of: "vae"))?["block_out_channels"]?.arrayValue?.count
        } else if SDXLSingleFile.isSingleFile(model) {
            levels = (try? SDXLSingleFile(path: model).configuration(of: "vae"))?["block_out_channels"]?.arrayValue?.count
        }
        guard let levels, levels >= 1, levels <= 8 else { return 8 }
        return 1 << (levels - 1)
    }

    /// `--preset`, or the family's default.
    func resolvedPreset(default family: SchedulerPreset) throws -> SchedulerPreset {
        try preset.map { try SchedulerPreset(name: $0) } ?? family
    }

    /// `--scheduler`; else, without `--preset`, a pipeline folder's own `scheduler/scheduler_config.json`; else the preset's.
    func schedulerConfiguration(_ preset: SchedulerPreset) throws -> SchedulerConfiguration {
        if let scheduler { return try SchedulerConfiguration(contentsOf: URL(fileURLWithPath: scheduler)) }
        let pipelineScheduler = URL(fileURLWithPath: model).appendingPathComponent("scheduler/scheduler_config.json").path
        if self.preset == nil, PipelineFolder.isPipelineFolder(model), FileManager.default.fileExists(atPath: pipelineScheduler) {
            return try SchedulerConfiguration(contentsOf: URL(fileURLWithPath: pipelineScheduler))
        }
        return preset.configuration
    }

    /// SDXL micro-conditioning from the options, defaulting to the image size without a crop.
    private func microConditioning(height: Int, width: Int) -> SDXLMicroConditioning {
        let original = originalSize.count == 2 ? (originalSize[0], originalSize[1]) : (height, width)
        let crop = cropTopLeft.count == 2 ? (cropTopLeft[0], cropTopLeft[1]) : (0, 0)
        let target = targetSize.count == 2 ? (targetSize[0], targetSize[1]) : (height, width)
        return SDXLMicroConditioning(originalSize: original, cropsCoordinatesTopLeft: crop, targetSize: target)
    }

    /// Where the conditioning tensors come from: `--embeddings`' file, or `--prompt` encoded by the pipeline.
    struct Conditioning {
        var source: String
        var tensor: (String) throws -> Tensor?
    }

    func promptConditioning() throws -> Conditioning {
        if let prompt {
            let encoded = try PipelinePrompts.encode(
                [prompt], model: model,
                options: .init(negativePrompt: negativePrompt, maxSequenceLength: maxSequenceLength, tokenizer: tokenizer))[0]
            return Conditioning(source: "--prompt", tensor: { encoded.optional($0) })
        }
        let path = embeddings!
        let file = try SafetensorsFile.open(path)
        return Conditioning(source: path, tensor: { file.contains($0) ? try file.tensor($0) : nil })
    }

    /// The initial noise: `--latents`' `latents`, or standard-normal noise drawn from `--seed`.
    private func loadNoise(shape: [Int]) throws -> Tensor {
        guard let noise else { return Tensor.randomNormal(shape, seed: seed) }
        let file = try SafetensorsFile.open(noise)
        guard file.contains("latents") else { throw CLIError.missingInput(path: noise, name: "latents") }
        let latents = try file.tensor("latents")
        guard latents.shape == shape else {
            throw CLIError.invalidFile(path: noise, reason: "latents has shape \(latents.shape), expected \(shape)")
        }
        return latents
    }
}
