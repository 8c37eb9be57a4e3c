import Foundation
import PruneFlux
import PruneKit
import PruneNN
import PruneSDXL
import PruneTensor
import PruneTestSupport

/// A tiny fixture model unrolled for a few steps, with its initial noise and maskable modules
/// (`Tests/Fixtures/<name>`, made by `Tests/Fixtures/make_fixtures.py`).
struct ObjectiveCase<Trajectory: DenoisingTrajectory> {
    let name: String
    let trajectory: Trajectory
    /// The fixture's initial noise (`sampling.safetensors` `noise`: SDXL `[1, 4, 16, 16]`, FLUX `[1, N, C·4]`).
    let noise: Tensor
    /// `masks.safetensors` `__metadata__["modules"]` as mask modules, in model order.
    let modules: [MaskSet.Module]

    /// A mask set with λ drawn uniformly from ±[0.2, 0.6] (random signs): gates are away from the clamp for
    /// SDXL's δ = 0.5 (|λ + n| ≤ 1.7 < 1.99) and |λ| stays away from L1's kink at 0.
    func unsaturatedMasks(parametrization: MaskParametrization, seed: UInt64 = 7) -> MaskSet {
        let masks = MaskSet(modules: modules, parametrization: parametrization)
        var generator = SeededGenerator(seed: seed)
        for module in modules {
            let values = (0..<module.unitCount).map { _ -> Float in
                let magnitude = 0.2 + 0.4 * generator.nextUniform()
                return generator.nextUniform() < 0.5 ? -magnitude : magnitude
            }
            masks[module.key]!.assign(Tensor(values, shape: [module.unitCount]))
        }
        return masks
    }
}

enum ObjectiveFixtures {
    /// The maskable modules listed by `<name>/masks.safetensors`.
    static func modules(_ name: String) throws -> [MaskSet.Module] {
        let file = try SafetensorsFile.open(Fixtures.path("\(name)/masks.safetensors"))
        let text = file.metadata["modules"] ?? "[]"
        let rows = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[Any]] ?? []
        return rows.map { row in
            let kind: UnitKind = (row[2] as! String).hasSuffix("attn") ? .attentionHead : .feedForwardNeuron
            return MaskSet.Module(key: row[0] as! String, kind: kind, unitCount: row[1] as! Int)
        }
    }

    /// An SDXL fixture's Euler sampler with guidance 5 over `steps` steps (diffusers' pipeline settings
    /// recorded in `sampling.safetensors`). With `latentSize`, the noise is a seeded `[1, 4, size, size]`
    /// draw instead of the fixture's 16 × 16 one: the U-Net costs ~0.5 s a step at 16 × 16 in a debug
    /// build, ~0.025 s at 4 × 4.
    static func sdxl(_ name: String = "sdxl-tiny", steps: Int, latentSize: Int? = 4) throws -> ObjectiveCase<SDXLTrajectory> {
        let (unet, _) = try UNet2DConditionModel.load(directory: Fixtures.path(name))
        let file = try SafetensorsFile.open(Fixtures.path("\(name)/sampling.safetensors"))
        let pipeline = try jsonObject(file.metadata["pipeline"])
        var configuration = try jsonObject(file.metadata["scheduler_config"])
        configuration["_class_name"] = file.metadata["scheduler_class"]
        let scheduler = try SchedulerConfiguration(json: JSONSerialization.data(withJSONObject: configuration)).makeScheduler()
        let original = pipeline["original_size"] as! [Int]
        let crops = pipeline["crops_coords_top_left"] as! [Int]
        let target = pipeline["target_size"] as! [Int]
        let sampler = try SDXLSampler(
            unet: unet, scheduler: scheduler, steps: steps, guidanceScale: Float(pipeline["guidance_scale"] as! Double),
            conditioning: SDXLConditioning(
                promptEmbeds: try file.tensor("prompt_embeds"), pooledPromptEmbeds: try file.tensor("pooled_prompt_embeds"),
                negativePromptEmbeds: try file.tensor("negative_prompt_embeds"),
                negativePooledPromptEmbeds: try file.tensor("negative_pooled_prompt_embeds")),
            microConditioning: SDXLMicroConditioning(
                originalSize: (original[0], original[1]), cropsCoordinatesTopLeft: (crops[0], crops[1]),
                targetSize: (target[0], target[1])))
        let noise = try latentSize.map { Tensor.randomNormal([1, 4, $0, $0], seed: 2024) } ?? file.tensor("noise")
        return ObjectiveCase(
            name: name, trajectory: SDXLTrajectory(sampler: sampler, latentShape: noise.shape, seed: 0), noise: noise,
            modules: try modules(name))
    }

    /// A FLUX fixture's flow-matching sampler over `steps` steps.
    static func flux(_ name: String = "flux-tiny", steps: Int) throws -> ObjectiveCase<FluxSampler> {
        let loaded = try FluxModelLoader.load(directory: Fixtures.path(name))
        let file = try SafetensorsFile.open(Fixtures.path("\(name)/sampling.safetensors"))
        let pipeline = try jsonObject(file.metadata["pipeline"])
        let config = try JSONDecoder().decode(
            FlowMatchEulerDiscreteSchedulerConfig.self, from: Data((file.metadata["scheduler_config"] ?? "{}").utf8))
        let grid = pipeline["latent_hw"] as! [Int]
        let sampler = try FluxSampler(
            transformer: loaded.model, scheduler: try FlowMatchEulerDiscreteScheduler(config: config), steps: steps,
            guidanceScale: Float(pipeline["guidance_scale"] as? Double ?? 0),
            promptEmbeds: try file.tensor("prompt_embeds"), pooledPromptEmbeds: try file.tensor("pooled_prompt_embeds"),
            latentHeight: grid[0], latentWidth: grid[1])
        return ObjectiveCase(name: name, trajectory: sampler, noise: try file.tensor("latents"), modules: try modules(name))
    }

    private static func jsonObject(_ text: String?) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data((text ?? "{}").utf8)) as? [String: Any] ?? [:]
    }
}

/// Every module's tensor of `values`, concatenated in `modules` order.
func flattened(_ values: [String: Tensor], modules: [MaskSet.Module]) -> [Float] {
    modules.flatMap { values[$0.key]!.scalars() }
}

/// `max|a − b| / max|b|` over two flat vectors.
func relativeDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "lengths differ: \(a.count) vs \(b.count)")
    let scale = max(b.reduce(Float(0)) { max($0, abs($1)) }, 1e-30)
    return zip(a, b).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) } / scale
}
