import Foundation
import PruneFlux
import PruneKit
import PruneNN
import PruneTensor
import PruneTestSupport
import Testing

/// The whole FLUX sampling loop against diffusers' `FluxPipeline` traces.
@Suite struct FluxSamplerTests {
    @Test("Four flow-matching steps reproduce FluxPipeline's latents within 1e-3", arguments: ["flux-tiny", "flux-small"])
    func samplingMatchesDiffusers(name: String) throws {
        let loaded = try FluxModelLoader.load(directory: Fixtures.path(name))
        let file = try SafetensorsFile.open(Fixtures.path("\(name)/sampling.safetensors"))
        let pipelineText = try #require(file.metadata["pipeline"])
        let pipeline = try #require(JSONSerialization.jsonObject(with: Data(pipelineText.utf8)) as? [String: Any])
        let configText = try #require(file.metadata["scheduler_config"])
        let config = try JSONDecoder().decode(FlowMatchEulerDiscreteSchedulerConfig.self, from: Data(configText.utf8))
        let grid = try #require(pipeline["latent_hw"] as? [Int])
        let sampler = try FluxSampler(
            transformer: loaded.model, scheduler: try FlowMatchEulerDiscreteScheduler(config: config),
            steps: try #require(pipeline["num_inference_steps"] as? Int),
            guidanceScale: Float(pipeline["guidance_scale"] as? Double ?? 0),
            promptEmbeds: try file.tensor("prompt_embeds"), pooledPromptEmbeds: try file.tensor("pooled_prompt_embeds"),
            latentHeight: grid[0], latentWidth: grid[1])
        #expect(sampler.scheduler.timesteps == (try file.tensor("timesteps")).scalars())
        var worstStep: Float = 0
        let final = try withoutGradients {
            try sampler.run(noise: try file.tensor("latents"), onStep: { index, latents in
                if let expected = try? file.tensor("trace.\(index)") {
                    worstStep = max(worstStep, maximumRelativeError(latents, expected))
                }
            })
        }
        let error = maximumRelativeError(final, try file.tensor("final"))
        print("\(name) sampling: final latents max relative error \(error), worst step \(worstStep)")
        #expect(error <= 1e-3)
        #expect(worstStep <= 1e-3)
    }

    @Test("A missing guidance value on a guidance-embedded model is an error, not a crash")
    func missingGuidanceIsAnError() throws {
        let loaded = try FluxModelLoader.load(directory: Fixtures.path("flux-small"))
        let inputs = try SafetensorsFile.open(Fixtures.path("flux-small/inputs.safetensors"))
        let call = FluxInputs(
            hiddenStates: try inputs.tensor("hidden_states"), encoderHiddenStates: try inputs.tensor("encoder_hidden_states"),
            pooledProjections: try inputs.tensor("pooled_projections"), timestep: try inputs.tensor("timestep"),
            imageIDs: try inputs.tensor("img_ids"), textIDs: try inputs.tensor("txt_ids"))
        #expect(throws: FluxInputError.guidance("the model has guidance_embeds and needs a guidance value")) {
            try loaded.model(call)
        }
    }
}
