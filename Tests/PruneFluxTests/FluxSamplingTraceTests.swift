import PruneFlux
import PruneNN
import PruneTensor
import PruneTestSupport
import Testing

/// The transformer inside diffusers' real `FluxPipeline` loop: at every step of the fixture's 4-step
/// trace, the model's output on that step's latents equals the pipeline's recorded transformer output.
@Suite struct FluxSamplingTraceTests {
    @Test("Every step's transformer output matches FluxPipeline's within 1e-4 relative", arguments: FluxFixture.all)
    func matchesPipelineTransformerOutputs(fixture: FluxFixture) throws {
        let loaded = try fixture.loadModel()
        let file = try fixture.file("sampling")
        let timesteps = try file.tensor("timesteps").scalars()
        var worst: Float = 0
        for step in timesteps.indices {
            let latents = try file.tensor(step == 0 ? "latents" : "trace.\(step - 1)")
            let output = withoutGradients {
                loaded.model(
                    hiddenStates: latents, encoderHiddenStates: try! file.tensor("prompt_embeds"),
                    pooledProjections: try! file.tensor("pooled_prompt_embeds"),
                    timestep: Tensor([timesteps[step] / 1000], shape: [1]), imageIDs: try! file.tensor("img_ids"),
                    textIDs: try! file.tensor("txt_ids"), guidance: file.contains("guidance") ? try! file.tensor("guidance") : nil)
            }
            let error = maximumRelativeError(output, try file.tensor("transformer_output.\(step)"))
            worst = max(worst, error)
            #expect(error <= 1e-4, "step \(step)")
        }
        print("[\(fixture)] sampling-trace transformer outputs, worst max|Δ|/max|ref|: \(worst)")
    }
}
