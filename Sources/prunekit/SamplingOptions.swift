import ArgumentParser
import Foundation
import PruneKit
import PruneNN
import PrunePipelines
import PruneTensor

/// The options of a text-to-latents run, shared by `sample` (which writes the latents) and `generate` (which
/// decodes them to a picture), and the run itself: the conditioning (an embeddings file, or a prompt through the
/// pipeline's own encoders), the schedule, the initial noise and the model's own trajectory, for any
/// ``PrunableModel`` (built in or from a plugin).
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
        /// The scheduler preset, when the architecture reports one.
        var preset: SchedulerPreset?
        var steps: Int
        var pixelHeight: Int
        var pixelWidth: Int
        /// Whether the latents are packed tokens `[B, N, C·4]` (FLUX) rather than an image grid `[B, C, h, w]`.
        var packedLatents: Bool
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

    /// The trajectory settings the options describe: `--preset`, `--steps`, `--guidance`, `--height`, `--width`, the
    /// scheduler configuration (`--scheduler`, or a pipeline folder's own without `--preset`) and the VAE's scale factor;
    /// the rest is the model's default.
    func trajectorySettings() throws -> TrajectorySettings {
        TrajectorySettings(
            scheduler: try preset.map { try SchedulerPreset(name: $0) }, steps: steps, guidanceScale: guidance, height: height, width: width,
            schedulerConfiguration: try schedulerConfiguration(), vaeScaleFactor: vaeScaleFactor)
    }

    /// Runs the sampling loop with `loaded` as the denoiser — `--model`'s own, or another one of the same family (a
    /// pruned export of it) — while `--model` still gives the scheduler and the VAE's scale factor. Any
    /// ``PrunableModel`` samples through its own ``PrunableModel/trajectory(conditioning:settings:seed:)`` and
    /// PruneKit's unroll loop: initial noise from `--latents` or `--seed`, injected step noise from `--seed` + 1.
    /// - Parameter stepLabel: put before each step's progress line.
    func run(
        denoiser loaded: any PrunableModel, conditioning: PromptConditioning, masks unitMasks: UnitMasks, trace: Bool, stepLabel: String = ""
    ) throws -> Result {
        let settings = try trajectorySettings()
        let prepared = try loaded.trajectory(conditioning: withMicroConditioning(conditioning), settings: settings, seed: seed &+ 1)
        let initialNoise = try loadNoise(shape: prepared.noiseShape)
        let trajectory = prepared.trajectory
        let total = trajectory.stepCount
        var tensors: [String: Tensor] = [:]
        tensors["latents"] = try withoutGradients {
            try trajectory.unroll(noise: initialNoise, masks: { _ in unitMasks }) { step in
                if trace { tensors["trace.\(step.index)"] = step.output }
                printProgress("\(stepLabel)step \(step.index + 1)/\(total)")
                return .proceed
            }
        }
        // What ran: the architecture's resolved settings, else the options over the model's defaults.
        let resolved = prepared.settings ?? (try? settings.resolved(defaults: loaded.defaultTrajectorySettings))
        return Result(
            tensors: tensors, preset: resolved?.scheduler, steps: total, pixelHeight: resolved?.height ?? height ?? 0,
            pixelWidth: resolved?.width ?? width ?? 0, packedLatents: prepared.noiseShape.count == 3,
            guidanceScale: resolved?.guidanceScale ?? guidance ?? 1,
            schedulerName: resolved?.schedulerConfiguration.className ?? settings.schedulerConfiguration?.className ?? "the architecture's own")
    }

    /// `conditioning` with the pipeline's micro-conditioning arguments from `--original-size`, `--crop-top-left` and
    /// `--target-size` (`original_size`, `crops_coords_top_left`, `target_size`, `[2]` each), for architectures that
    /// read them (SDXL); others ignore them.
    func withMicroConditioning(_ conditioning: PromptConditioning) -> PromptConditioning {
        var conditioning = conditioning
        for (name, values) in [("original_size", originalSize), ("crops_coords_top_left", cropTopLeft), ("target_size", targetSize)]
        where values.count == 2 {
            conditioning.tensors[name] = Tensor(values.map(Float.init), shape: [2])
        }
        return conditioning
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

    /// `--scheduler`; else, without `--preset`, a pipeline folder's own `scheduler/scheduler_config.json`; else nil (the preset's).
    func schedulerConfiguration() throws -> SchedulerConfiguration? {
        if let scheduler { return try SchedulerConfiguration(contentsOf: URL(fileURLWithPath: scheduler)) }
        let pipelineScheduler = URL(fileURLWithPath: model).appendingPathComponent("scheduler/scheduler_config.json").path
        if self.preset == nil, PipelineFolder.isPipelineFolder(model), FileManager.default.fileExists(atPath: pipelineScheduler) {
            return try SchedulerConfiguration(contentsOf: URL(fileURLWithPath: pipelineScheduler))
        }
        return nil
    }

    /// The conditioning tensors: `--embeddings`' file (every tensor in it), or `--prompt` encoded by the pipeline.
    func promptConditioning() throws -> PromptConditioning {
        if let prompt {
            let encoded = try PipelinePrompts.encode(
                [prompt], model: model,
                options: .init(negativePrompt: negativePrompt, maxSequenceLength: maxSequenceLength, tokenizer: tokenizer))[0]
            return PromptConditioning(encoded.tensors, source: "--prompt")
        }
        let path = embeddings!
        let file = try SafetensorsFile.open(path)
        var tensors: [String: Tensor] = [:]
        for key in file.keys { tensors[key] = try file.tensor(key) }
        return PromptConditioning(tensors, source: path)
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
