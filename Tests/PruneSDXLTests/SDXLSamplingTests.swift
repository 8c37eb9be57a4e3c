import Foundation
import PruneKit
import PruneNN
import PruneSDXL
import PruneTensor
import PruneTestSupport
import Testing

/// Four-step SDXL sampling against traces recorded from diffusers' `StableDiffusionXLPipeline`.
@Suite struct SDXLSamplingTests {
    @Test("Four Euler steps with guidance reproduce diffusers' latents within 1e-3", arguments: ["sdxl-tiny", "sdxl-small"])
    func samplingMatchesDiffusers(name: String) throws {
        let (unet, _) = try UNet2DConditionModel.load(directory: Fixtures.path(name))
        let file = try SafetensorsFile.open(Fixtures.path("\(name)/sampling.safetensors"))
        let pipelineText = try #require(file.metadata["pipeline"])
        let pipeline = try #require(JSONSerialization.jsonObject(with: Data(pipelineText.utf8)) as? [String: Any])
        let configText = try #require(file.metadata["scheduler_config"])
        let className = try #require(file.metadata["scheduler_class"])
        let schedulerConfiguration = try SchedulerConfiguration(json: Data(configText.utf8).withClassName(className))
        let original = try #require(pipeline["original_size"] as? [Int])
        let crops = try #require(pipeline["crops_coords_top_left"] as? [Int])
        let target = try #require(pipeline["target_size"] as? [Int])
        let sampler = try SDXLSampler(
            unet: unet, scheduler: try schedulerConfiguration.makeScheduler(),
            steps: try #require(pipeline["num_inference_steps"] as? Int),
            guidanceScale: Float(try #require(pipeline["guidance_scale"] as? Double)),
            conditioning: SDXLConditioning(
                promptEmbeds: try file.tensor("prompt_embeds"), pooledPromptEmbeds: try file.tensor("pooled_prompt_embeds"),
                negativePromptEmbeds: try file.tensor("negative_prompt_embeds"),
                negativePooledPromptEmbeds: try file.tensor("negative_pooled_prompt_embeds")),
            microConditioning: SDXLMicroConditioning(
                originalSize: (original[0], original[1]), cropsCoordinatesTopLeft: (crops[0], crops[1]),
                targetSize: (target[0], target[1])))
        #expect(sampler.scheduler.timesteps == (try file.tensor("timesteps")).scalars())
        var worstStep: Float = 0
        let final = try withoutGradients {
            try sampler.run(noise: try file.tensor("noise"), onStep: { index, latents in
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
}

extension Data {
    /// JSON object data with `_class_name` added (fixtures store the class beside the configuration).
    func withClassName(_ name: String) throws -> Data {
        var object = try JSONSerialization.jsonObject(with: self) as? [String: Any] ?? [:]
        object["_class_name"] = name
        return try JSONSerialization.data(withJSONObject: object)
    }
}
