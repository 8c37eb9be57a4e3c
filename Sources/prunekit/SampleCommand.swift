import ArgumentParser
import Foundation
import PruneKit
import PruneFlux
import PruneNN
import PrunePipelines
import PruneSDXL
import PruneTensor

/// `prunekit sample`: the full sampling loop from noise to final latents.
struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Run the denoising loop and write the final latents.",
        discussion: """
            Embeddings are named as diffusers' pipelines name them: prompt_embeds, negative_prompt_embeds, \
            pooled_prompt_embeds, negative_pooled_prompt_embeds (SDXL); prompt_embeds, pooled_prompt_embeds (FLUX). \
            --noise takes a file holding `latents` (SDXL: the unscaled standard-normal noise [1, C, h, w]; \
            FLUX: packed noise [1, tokens, C·4]); otherwise noise is drawn from --seed.
            """)

    @Option(help: "A diffusers model directory.") var model: String
    @Option(help: "A safetensors file with the prompt embeddings (e.g. from `prunekit encode-prompt`).") var embeddings: String?
    @Option(help: "A prompt, encoded by --model's own text encoders (a pipeline folder or an SDXL single file), instead of --embeddings.")
    var prompt: String?
    @Option(help: "--prompt: the negative prompt (SDXL default: zeros, as diffusers; FLUX: true CFG needs one).") var negativePrompt: String?
    @Option(help: "--prompt with FLUX: T5 tokens (1…512, default 512).") var maxSequenceLength: Int?
    @Option(help: "--prompt: take tokenizer/ and tokenizer_2/ from this pipeline folder.") var tokenizer: String?
    @Option(help: "Scheduler and defaults: \(SchedulerPreset.allCases.map(\.rawValue).joined(separator: ", ")).")
    var preset: String
    @Option(help: "A scheduler_config.json replacing the preset's scheduler.") var scheduler: String?
    @Option(help: "Inference steps (default: the preset's).") var steps: Int?
    @Option(help: "Guidance scale (default: the preset's).") var guidance: Float?
    @Option(help: "Seed of the initial noise.") var seed: UInt64 = 0
    @Option(help: "A safetensors file whose `latents` tensor is the initial noise.") var noise: String?
    @Option(help: "Image height in pixels (default: sample_size × 8).") var height: Int?
    @Option(help: "Image width in pixels (default: sample_size × 8).") var width: Int?
    @Option(parsing: .upToNextOption, help: "SDXL original_size as HEIGHT WIDTH (default: the image size).")
    var originalSize: [Int] = []
    @Option(parsing: .upToNextOption, help: "SDXL crops_coords_top_left as TOP LEFT (default: 0 0).")
    var cropTopLeft: [Int] = []
    @Option(parsing: .upToNextOption, help: "SDXL target_size as HEIGHT WIDTH (default: the image size).")
    var targetSize: [Int] = []
    @Option(help: "A safetensors file of unit masks (mask.<module key>).") var masks: String?
    @Option(help: "Where to write the final `latents`.") var output: String
    @Flag(help: "Also write every step's latents as trace.<i>.") var trace = false
    @Flag(help: "Replace an existing --output written by PruneKit (nothing else is ever replaced).") var overwrite = false

    var outputRequests: [OutputRequest] { [OutputRequest(flag: "--output", path: output, kind: .file(.safetensors))] }
    var inputPaths: [InputPath] {
        CommandOutputs.inputs([
            ("--model", model), ("--embeddings", embeddings), ("--scheduler", scheduler), ("--noise", noise), ("--masks", masks),
            ("--tokenizer", tokenizer),
        ])
    }

    func validate() throws {
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
        try CommandOutputs.validate(outputRequests, inputs: inputPaths)
        for (name, values) in [("--original-size", originalSize), ("--crop-top-left", cropTopLeft), ("--target-size", targetSize)]
        where !values.isEmpty && values.count != 2 {
            throw ValidationError("\(name) takes two numbers, got \(values.count)")
        }
    }

    /// SDXL micro-conditioning from the options, defaulting to the image size without a crop.
    private func microConditioning(height: Int, width: Int) -> SDXLMicroConditioning {
        let original = originalSize.count == 2 ? (originalSize[0], originalSize[1]) : (height, width)
        let crop = cropTopLeft.count == 2 ? (cropTopLeft[0], cropTopLeft[1]) : (0, 0)
        let target = targetSize.count == 2 ? (targetSize[0], targetSize[1]) : (height, width)
        return SDXLMicroConditioning(originalSize: original, cropsCoordinatesTopLeft: crop, targetSize: target)
    }

    func run() throws {
        let claim = try CommandOutputs.claim(outputRequests, inputs: inputPaths, overwrite: overwrite)
        defer { claim.release() }
        let preset = try SchedulerPreset(name: self.preset)
        let schedulerConfiguration = try scheduler.map { try SchedulerConfiguration(contentsOf: URL(fileURLWithPath: $0)) }
            ?? preset.configuration
        let stepCount = steps ?? preset.defaultSteps
        guard stepCount > 0 else { throw ValidationError("--steps must be at least 1, got \(stepCount)") }
        let unitMasks = try masks.map(UnitMasks.load(path:)) ?? .none
        let conditioning = try promptConditioning()
        func tensor(_ name: String) throws -> Tensor {
            guard let tensor = try conditioning.tensor(name) else { throw CLIError.missingInput(path: conditioning.source, name: name) }
            return tensor
        }
        func optional(_ name: String) throws -> Tensor? { try conditioning.tensor(name) }

        var tensors: [String: Tensor] = [:]
        let loaded = try Architectures.loadModel(directory: model)
        if let sdxl = loaded as? SDXLPrunableModel {
            let unet = sdxl.unet
            let sampleSize = unet.configuration.sampleSize ?? 128
            let pixelsHigh = height ?? sampleSize * 8
            let pixelsWide = width ?? sampleSize * 8
            let latentShape = [1, unet.configuration.inChannels, pixelsHigh / 8, pixelsWide / 8]
            let initialNoise = try loadNoise(shape: latentShape)
            let sampler = try SDXLSampler(
                unet: unet, scheduler: try schedulerConfiguration.makeScheduler(), steps: stepCount,
                guidanceScale: guidance ?? preset.defaultGuidance,
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
                        printProgress("step \(index + 1)/\(total)")
                    })
            }
            tensors["latents"] = final
        } else if let fluxModel = loaded as? FluxPrunableModel {
            let flux = fluxModel.transformer
            guard case .flowMatchEulerDiscrete(let config) = schedulerConfiguration else {
                throw CLIError.badOption("FLUX samples with FlowMatchEulerDiscreteScheduler, not \(schedulerConfiguration.className)")
            }
            let pixelsHigh = height ?? 1024
            let pixelsWide = width ?? 1024
            // FluxPipeline.prepare_latents: 2·(H // 16) × 2·(W // 16) latent rows and columns, packed 2×2.
            let (latentRows, latentColumns) = (2 * (pixelsHigh / 16), 2 * (pixelsWide / 16))
            let packedShape = [1, (latentRows / 2) * (latentColumns / 2), flux.configuration.inChannels]
            let sampler = try FluxSampler(
                transformer: flux, scheduler: try FlowMatchEulerDiscreteScheduler(config: config), steps: stepCount,
                guidanceScale: guidance ?? preset.defaultGuidance, promptEmbeds: try tensor("prompt_embeds"),
                pooledPromptEmbeds: try tensor("pooled_prompt_embeds"), latentHeight: latentRows, latentWidth: latentColumns)
            let total = sampler.stepCount
            let final = try withoutGradients {
                try sampler.run(noise: try loadNoise(shape: packedShape), masks: unitMasks, onStep: { index, latents in
                    if trace { tensors["trace.\(index)"] = latents }
                    printProgress("step \(index + 1)/\(total)")
                })
            }
            tensors["latents"] = final
        } else {
            throw CLIError.badOption("sample supports SDXL and FLUX models; \(model) is a \(loaded.architectureName)")
        }
        try SafetensorsWriter.write(
            tensors,
            metadata: ["prunekit.output": "sample", "preset": preset.rawValue, "steps": String(stepCount), "seed": String(seed)],
            to: output)
        print("wrote \(output)")
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

    /// The initial noise: `--noise`'s `latents`, or standard-normal noise drawn from `--seed`.
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

/// A progress line on standard error (standard output stays machine-readable).
func printProgress(_ message: String) {
    FileHandle.standardError.write(Data("\(message)\n".utf8))
}
