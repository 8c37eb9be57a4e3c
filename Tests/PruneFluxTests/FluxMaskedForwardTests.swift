import PruneFlux
import PruneKit
import PruneNN
import PruneTensor
import PruneTestSupport
import Testing

/// Inline unit masks (heads before `to_out.0`/`to_add_out`, FFN activations before `net.2`, single-block
/// attention and MLP before `proj_out`) against diffusers with the fixture's forward hooks.
@Suite struct FluxMaskedForwardTests {
    @Test("The masked forward pass matches diffusers' hooked float32 output within 1e-4 relative", arguments: FluxFixture.all)
    func matchesMaskedOutput(fixture: FluxFixture) throws {
        let loaded = try fixture.loadModel()
        let masks = try fixture.masks()
        let output = withoutGradients { try! fixture.inputs().run(loaded.model, masks: masks) }
        let expected = try fixture.expected("masked_output")
        print("[\(fixture)] masked output vs diffusers float32: \(errorSummary(output, expected))")
        print("[\(fixture)] masked output vs diffusers float64: \(errorSummary(output, try fixture.expected("masked_output_f64")))")
        #expect(maximumRelativeError(output, expected) <= 1e-4)
    }

    @Test("The model lists exactly the fixture's maskable modules, in order and with their unit counts", arguments: FluxFixture.all)
    func maskableModulesMatchFixture(fixture: FluxFixture) throws {
        let loaded = try fixture.loadModel()
        let listed = loaded.model.unitGroups.filter { !$0.isBlockList }.map { "\($0.moduleKey) \($0.unitCount) \($0.kind.rawValue)" }
        // The fixture names FLUX's module kinds; heads are `flux_double_attn` / `flux_single_attn`.
        let recorded = try fixture.maskModules().map { "\($0.key) \($0.units) \($0.kind.hasSuffix("_attn") ? "head" : "neuron")" }
        #expect(listed == recorded)
        // The two block lists, one unit per block, come before their blocks' heads and neurons.
        let configuration = loaded.configuration
        #expect(loaded.model.unitGroups.filter(\.isBlockList).map { "\($0.moduleKey) \($0.unitCount)" } == [
            "transformer_blocks \(configuration.doubleBlockCount)", "single_transformer_blocks \(configuration.singleBlockCount)",
        ])
    }

    @Test("All-ones masks, block masks included, reproduce the unmasked output exactly")
    func onesMasksAreIdentity() throws {
        let fixture = FluxFixture.all[1]
        let loaded = try fixture.loadModel()
        var masks = UnitMasks()
        for group in loaded.model.unitGroups { masks[group.moduleKey] = Tensor.ones([group.unitCount]) }
        let inputs = try fixture.inputs()
        let (plain, masked) = withoutGradients { (inputs.run(loaded.model), inputs.run(loaded.model, masks: masks)) }
        #expect(plain.scalars() == masked.scalars())
    }
}
