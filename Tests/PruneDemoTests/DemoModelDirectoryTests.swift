import Foundation
import PruneDemoTestSupport
import PruneFlux
import PruneKit
import PruneNN
import PruneSDXL
import PruneTensor
import Testing

@testable import PruneDemo

@Suite("Demo model directories and sampling")
struct DemoModelDirectoryTests {
    @Test("a written demo model reloads with identical samples, and its denoiser loads as a diffusers directory", arguments: DemoArchitecture.allCases)
    func roundTrip(architecture: DemoArchitecture) throws {
        let model = try TinyDemoModels.model(architecture, seed: 5)
        let directory = NSTemporaryDirectory() + "demo-model-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try DemoModelDirectory.write(model, card: nil, samples: RGBImage(width: 2, height: 2), lossChart: nil, to: directory)
        let reloaded = try DemoModelDirectory.load(directory)

        let settings = DemoSamplingSettings(steps: 2, guidanceScale: 3, batchSize: 2)
        let prompts = ["a red circle on the left", "two green triangles", "a blue square in the center"]
        let original = try DemoSampler(model: model, settings: settings).sample(prompts: prompts, seed: 9, noiseIndices: [0, 1, 2])
        let again = try DemoSampler(model: reloaded, settings: settings).sample(prompts: prompts, seed: 9, noiseIndices: [0, 1, 2])
        #expect(original.images.shape == [3, 3, 32, 32] && original.latents.shape == [3, 12, 16, 16])
        #expect(original.latents.scalars() == again.latents.scalars())
        #expect(original.images.scalars().allSatisfy { (0...1).contains($0) })

        // The denoiser directory is what `prunekit` loads.
        switch architecture {
        case .sdxl: _ = try UNet2DConditionModel.load(directory: directory)
        case .flux: _ = try FluxModelLoader.load(directory: directory)
        }
        #expect(try ArchitectureRegistry.className(directory: directory) == (architecture == .sdxl ? "UNet2DConditionModel" : "FluxTransformer2DModel"))
    }

    @Test("a directory without its text encoder is refused naming the missing file")
    func missingTextEncoder() throws {
        let directory = NSTemporaryDirectory() + "demo-model-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try DemoModelDirectory.write(try TinyDemoModels.model(.flux), card: nil, samples: nil, lossChart: nil, to: directory)
        try FileManager.default.removeItem(atPath: directory + "/text_encoder_config.json")
        do {
            _ = try DemoModelDirectory.load(directory)
            Issue.record("loading without text_encoder_config.json should fail")
        } catch {
            #expect("\(error)".contains("text_encoder_config.json"))
        }
    }

    @Test("guided FLUX sampling with guidance 1 is FluxSampler's loop")
    func unguidedFluxMatchesFluxSampler() throws {
        let model = try TinyDemoModels.model(.flux, seed: 1)
        guard case .flux(let transformer) = model.denoiser else { return }
        try withoutGradients {
            let (tokens, pooled) = try model.encode(["two red circles"])
            let (nullTokens, nullPooled) = try model.encode([nil])
            let scheduler = try FlowMatchEulerDiscreteScheduler(config: DemoArchitecture.fluxScheduler)
            let guided = try GuidedFluxTrajectory(
                transformer: transformer, scheduler: scheduler, steps: 3, guidanceScale: 1, promptEmbeds: tokens,
                pooledPromptEmbeds: pooled, nullEmbeds: nullTokens, nullPooledEmbeds: nullPooled, latentHeight: 16, latentWidth: 16)
            let plain = try FluxSampler(
                transformer: transformer, scheduler: scheduler, steps: 3, guidanceScale: 1, promptEmbeds: tokens,
                pooledPromptEmbeds: pooled, latentHeight: 16, latentWidth: 16)
            let noise = Tensor.randomNormal([1, 64, 48], seed: 3)
            var x = noise
            for index in 0..<3 { x = try guided.step(x, index: index, masks: .none) }
            #expect(x.scalars() == (try plain.run(noise: noise)).scalars())

            // With guidance g, one step moves by v_null + g·(v_prompt − v_null).
            let strong = try GuidedFluxTrajectory(
                transformer: transformer, scheduler: scheduler, steps: 3, guidanceScale: 4, promptEmbeds: tokens,
                pooledPromptEmbeds: pooled, nullEmbeds: nullTokens, nullPooledEmbeds: nullPooled, latentHeight: 16, latentWidth: 16)
            let unconditional = try FluxSampler(
                transformer: transformer, scheduler: scheduler, steps: 3, guidanceScale: 1, promptEmbeds: nullTokens,
                pooledPromptEmbeds: nullPooled, latentHeight: 16, latentWidth: 16)
            let stepped = try strong.step(noise, index: 0, masks: .none).scalars()
            let (c, u) = (try plain.step(noise, index: 0).scalars(), try unconditional.step(noise, index: 0).scalars())
            for i in stride(from: 0, to: stepped.count, by: 97) { #expect(abs(stepped[i] - (u[i] + 4 * (c[i] - u[i]))) < 1e-4) }
        }
    }
}
