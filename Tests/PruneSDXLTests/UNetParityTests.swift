import Foundation
import PruneNN
import PruneSDXL
import PruneTensor
import PruneTestSupport
import Testing

/// The U-Net against diffusers' outputs for the committed fixture models (`Tests/Fixtures/sdxl-*`).
@Suite struct UNetParityTests {
    static let cases = ["sdxl-tiny", "sdxl-small"]

    /// Loads a fixture case: the model, its parameter store, inputs, masks and expected values.
    struct Case {
        let model: UNet2DConditionModel
        let parameters: ParameterStore
        let inputs: UNetInputs
        let masks: UnitMasks
        let expected: SafetensorsFile

        init(_ name: String) throws {
            (model, parameters) = try UNet2DConditionModel.load(directory: Fixtures.path(name))
            let file = try SafetensorsFile.open(Fixtures.path("\(name)/inputs.safetensors"))
            inputs = UNetInputs(
                sample: try file.tensor("sample"), timestep: try file.tensor("timestep"),
                encoderHiddenStates: try file.tensor("encoder_hidden_states"),
                textEmbeds: file.contains("text_embeds") ? try file.tensor("text_embeds") : nil,
                timeIDs: file.contains("time_ids") ? try file.tensor("time_ids") : nil)
            let maskFile = try SafetensorsFile.open(Fixtures.path("\(name)/masks.safetensors"))
            var masks = UnitMasks()
            for key in maskFile.keys {
                masks[String(key.dropFirst(UnitMasks.filePrefix.count))] = try maskFile.tensor(key)
            }
            self.masks = masks
            expected = try SafetensorsFile.open(Fixtures.path("\(name)/expected.safetensors"))
        }
    }

    @Test("The forward pass matches diffusers within 1e-4 relative error", arguments: cases)
    func forwardMatchesDiffusers(name: String) throws {
        let fixture = try Case(name)
        let output = try withoutGradients { try fixture.model(fixture.inputs) }
        let error32 = maximumRelativeError(output, try fixture.expected.tensor("output"))
        let error64 = maximumRelativeError(output, try fixture.expected.tensor("output_f64"))
        print("\(name) forward: max relative error \(error32) vs float32, \(error64) vs float64")
        #expect(error32 <= 1e-4)
        #expect(error64 <= 1e-4)
    }

    @Test("Masked heads and neurons give diffusers' masked output", arguments: cases)
    func maskedForwardMatchesDiffusers(name: String) throws {
        let fixture = try Case(name)
        let output = try withoutGradients { try fixture.model(fixture.inputs, masks: fixture.masks) }
        let error = maximumRelativeError(output, try fixture.expected.tensor("masked_output"))
        print("\(name) masked forward: max relative error \(error)")
        #expect(error <= 1e-4)
    }

    /// Gradients are compared with diffusers' float64 gradients. The bound is 1e-3, or twice diffusers'
    /// own float32-vs-float64 gap for that tensor where the model is too ill-conditioned for 1e-3
    /// (recorded by the fixture script in `f32_vs_f64_max_rel`; only sdxl-tiny's mask gradients need it).
    @Test("Gradients of masks and weights match diffusers within 1e-3", arguments: cases)
    func gradientsMatchDiffusers(name: String) throws {
        let fixture = try Case(name)
        let diffusersGap = try Self.float32Float64Gaps(fixture.expected)
        for mask in fixture.masks.byModule.values { mask.requiresGradient = true }
        let weightKeys = fixture.expected.keys.filter { $0.hasPrefix("grad.") && !$0.hasPrefix("grad.mask.") }
            .map { String($0.dropFirst("grad.".count)) }
        #expect(!weightKeys.isEmpty)
        for key in weightKeys { fixture.parameters.parameters[key]!.requiresGradient = true }
        let output = try fixture.model(fixture.inputs, masks: fixture.masks)
        (output * (try fixture.expected.tensor("loss_weights"))).sum().backward()
        var gradients: [(String, Tensor)] = fixture.masks.byModule.map { ("mask.\($0.key)", $0.value) }
        gradients += weightKeys.map { ($0, fixture.parameters.parameters[$0]!) }
        var worst: Float = 0
        for (key, tensor) in gradients {
            let ours = try #require(tensor.gradient, "no gradient for \(key)")
            let error = maximumRelativeError(ours, try fixture.expected.tensor("grad_f64.\(key)"))
            let bound = max(1e-3, 2 * (diffusersGap["grad.\(key)"] ?? 0))
            worst = max(worst, error)
            #expect(error <= bound, "gradient of \(key): \(error) > \(bound)")
        }
        print("\(name) gradients: max relative error \(worst) vs float64 over \(gradients.count) tensors")
    }

    /// diffusers' float32-vs-float64 relative gap per stored tensor.
    static func float32Float64Gaps(_ file: SafetensorsFile) throws -> [String: Float] {
        guard let text = file.metadata["f32_vs_f64_max_rel"],
            let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Double]
        else { return [:] }
        return object.mapValues { Float($0) }
    }
}

/// Latents whose sides are not divisible by 2 per upsampler take diffusers' `upsample_size` path.
@Suite struct UNetOddSizeTests {
    @Test("An 18 × 22 latent matches diffusers, upsampling to each skip's size")
    func oddLatentMatchesDiffusers() throws {
        let (model, _) = try UNet2DConditionModel.load(directory: Fixtures.path("sdxl-small"))
        let file = try SafetensorsFile.open(Fixtures.path("sdxl-small/odd_size.safetensors"))
        let inputs = UNetInputs(
            sample: try file.tensor("sample"), timestep: try file.tensor("timestep"),
            encoderHiddenStates: try file.tensor("encoder_hidden_states"), textEmbeds: try file.tensor("text_embeds"),
            timeIDs: try file.tensor("time_ids"))
        let output = try withoutGradients { try model(inputs) }
        let error = maximumRelativeError(output, try file.tensor("output"))
        print("sdxl-small 18×22: max relative error \(error)")
        #expect(output.shape == [2, 4, 18, 22])
        #expect(error <= 1e-4)
    }
}
