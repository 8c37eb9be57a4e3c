import Foundation
import PruneFlux
import PruneKit
import PruneNN
import PruneSDXL
import PruneTensor

/// Calibration trajectories for `prunekit prune`: one per prompt of an embeddings file.
enum PruneCalibration {
    /// The embeddings file split into `count` single-prompt slices along dimension 0.
    struct Embeddings {
        let path: String
        let file: SafetensorsFile
        let count: Int

        init(path: String) throws {
            self.path = path
            file = try SafetensorsFile.open(path)
            guard file.contains("prompt_embeds") else { throw CLIError.missingInput(path: path, name: "prompt_embeds") }
            let shape = try file.tensor("prompt_embeds").shape
            guard shape.count >= 2, shape[0] >= 1 else {
                throw CLIError.invalidFile(path: path, reason: "prompt_embeds has shape \(shape), expected [P, …]")
            }
            count = shape[0]
        }

        /// Prompt `index` of tensor `name` as a batch of 1; a tensor holding one prompt serves every prompt.
        func prompt(_ index: Int, of name: String) throws -> Tensor? {
            guard file.contains(name) else { return nil }
            let tensor = try file.tensor(name)
            guard let batch = tensor.shape.first else {
                throw CLIError.invalidFile(path: path, reason: "\(name) is a scalar, expected [P, …]")
            }
            if batch == 1 { return tensor }
            guard batch == count else {
                throw CLIError.invalidFile(path: path, reason: "\(name) holds \(batch) prompts but prompt_embeds holds \(count)")
            }
            return tensor.sliced(axis: 0, index..<(index + 1))
        }

        func requiredPrompt(_ index: Int, of name: String) throws -> Tensor {
            guard let tensor = try prompt(index, of: name) else { throw CLIError.missingInput(path: path, name: name) }
            return tensor
        }
    }

    /// The per-prompt noise seed: prompt `index` of a run seeded with `seed`.
    static func noiseSeed(_ seed: UInt64, prompt index: Int) -> UInt64 { seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15 }

    /// SDXL samples: trajectories of `preset`'s scheduler, noise from the seed, targets = unmasked final latents.
    static func sdxlSamples(
        unet: UNet2DConditionModel, embeddings: Embeddings, preset: SchedulerPreset, steps: Int, guidance: Float,
        height: Int, width: Int, seed: UInt64, withTargets: Bool
    ) throws -> [CalibrationSample<AnyDenoisingTrajectory>] {
        let latentShape = [1, unet.configuration.inChannels, height / 8, width / 8]
        var samples: [CalibrationSample<AnyDenoisingTrajectory>] = []
        for index in 0..<embeddings.count {
            let sampler = try SDXLSampler(
                unet: unet, scheduler: try preset.configuration.makeScheduler(), steps: steps, guidanceScale: guidance,
                conditioning: SDXLConditioning(
                    promptEmbeds: try embeddings.requiredPrompt(index, of: "prompt_embeds"),
                    pooledPromptEmbeds: try embeddings.requiredPrompt(index, of: "pooled_prompt_embeds"),
                    negativePromptEmbeds: try embeddings.prompt(index, of: "negative_prompt_embeds"),
                    negativePooledPromptEmbeds: try embeddings.prompt(index, of: "negative_pooled_prompt_embeds")),
                microConditioning: SDXLMicroConditioning(height: height, width: width))
            let promptSeed = noiseSeed(seed, prompt: index)
            let trajectory = AnyDenoisingTrajectory(SDXLTrajectory(sampler: sampler, latentShape: latentShape, seed: promptSeed &+ 1))
            samples.append(try sample(trajectory, noise: Tensor.randomNormal(latentShape, seed: promptSeed), withTarget: withTargets))
            printProgress("calibration prompt \(index + 1)/\(embeddings.count)")
        }
        return samples
    }

    /// FLUX samples: packed noise `[1, tokens, C·4]` from the seed, targets = unmasked final latents.
    static func fluxSamples(
        flux: FluxTransformer2DModel, embeddings: Embeddings, preset: SchedulerPreset, steps: Int, guidance: Float,
        height: Int, width: Int, seed: UInt64, withTargets: Bool
    ) throws -> [CalibrationSample<AnyDenoisingTrajectory>] {
        guard case .flowMatchEulerDiscrete(let config) = preset.configuration else {
            throw CLIError.badOption("FLUX samples with FlowMatchEulerDiscreteScheduler; preset \(preset.rawValue) uses \(preset.configuration.className)")
        }
        // FluxPipeline.prepare_latents: 2·(H // 16) × 2·(W // 16) latent rows and columns, packed 2×2.
        let (rows, columns) = (2 * (height / 16), 2 * (width / 16))
        let packedShape = [1, (rows / 2) * (columns / 2), flux.configuration.inChannels]
        var samples: [CalibrationSample<AnyDenoisingTrajectory>] = []
        for index in 0..<embeddings.count {
            let sampler = try FluxSampler(
                transformer: flux, scheduler: try FlowMatchEulerDiscreteScheduler(config: config), steps: steps,
                guidanceScale: guidance, promptEmbeds: try embeddings.requiredPrompt(index, of: "prompt_embeds"),
                pooledPromptEmbeds: try embeddings.requiredPrompt(index, of: "pooled_prompt_embeds"),
                latentHeight: rows, latentWidth: columns)
            let noise = Tensor.randomNormal(packedShape, seed: noiseSeed(seed, prompt: index))
            samples.append(try sample(AnyDenoisingTrajectory(sampler), noise: noise, withTarget: withTargets))
            printProgress("calibration prompt \(index + 1)/\(embeddings.count)")
        }
        return samples
    }

    private static func sample(
        _ trajectory: AnyDenoisingTrajectory, noise: Tensor, withTarget: Bool
    ) throws -> CalibrationSample<AnyDenoisingTrajectory> {
        guard withTarget else { return CalibrationSample(trajectory: trajectory, noise: noise, target: noise) }
        let target = try withoutGradients { try EcoDiffObjective.target(of: trajectory, noise: noise) }
        return CalibrationSample(trajectory: trajectory, noise: noise, target: target)
    }
}
