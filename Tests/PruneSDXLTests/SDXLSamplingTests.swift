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

/// Parameter and unit counts of named configurations, from the configuration alone.
@Suite struct UNetAccountingTests {
    @Test("SDXL base counts 2,567,463,684 parameters, 2600 heads and 332,800 FFN neurons")
    func sdxlBase() throws {
        #expect(ModelAccounting(layout: try UNet2DConditionModel.layout(of: .sdxlBase)) == ModelAccounting(parameters: 2_567_463_684, heads: 2600, ffnNeurons: 332_800))
    }

    @Test("diffusers' SDXL test U-Net counts 15,416 parameters")
    func sdxlTinyTest() throws {
        #expect(ModelAccounting(layout: try UNet2DConditionModel.layout(of: .sdxlTinyTest)).parameters == 15_416)
    }

    @Test("The bench-size U-Net keeps 64-wide heads at every attention level")
    func sdxlBench() throws {
        let levels = try UNetConfiguration.sdxlBench.resolvedLevels()
        #expect(levels.map { $0.outChannels / $0.heads } == [64, 64, 64])
        let accounting = ModelAccounting(layout: try UNet2DConditionModel.layout(of: .sdxlBench))
        print("sdxl-bench: \(accounting)")
        #expect(accounting.heads > 0 && accounting.parameters > 50_000_000)
    }

    @Test("An unsupported block type is named in the error")
    func unsupportedBlockType() {
        var configuration = UNetConfiguration.sdxlBase
        configuration.downBlockTypes[0] = "AttnDownBlock2D"
        #expect(throws: UNetConfigurationError.unsupported(key: "down_block_types", value: "AttnDownBlock2D")) {
            try configuration.validate()
        }
    }

    @Test("Heads that do not divide the channels are rejected")
    func headsMustDivideChannels() {
        var configuration = UNetConfiguration.sdxlBase
        configuration.attentionHeadDim = .list([5, 7, 20])
        #expect(throws: UNetConfigurationError.invalid(key: "attention_head_dim", reason: "7 heads do not divide 640 channels")) {
            try configuration.validate()
        }
    }
}
