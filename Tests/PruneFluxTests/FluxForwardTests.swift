import PruneFlux
import PruneNN
import PruneTensor
import PruneTestSupport
import Testing

/// The unmasked forward pass against diffusers' `FluxTransformer2DModel` on the committed fixtures.
@Suite struct FluxForwardTests {
    @Test("The forward pass matches diffusers' float32 output within 1e-4 relative", arguments: FluxFixture.all)
    func matchesFloat32Output(fixture: FluxFixture) throws {
        let loaded = try fixture.loadModel()
        let output = withoutGradients { try! fixture.inputs().run(loaded.model) }
        let expected = try fixture.expected("output")
        #expect(output.shape == expected.shape)
        let error = maximumRelativeError(output, expected)
        print("[\(fixture)] output vs diffusers float32: \(errorSummary(output, expected))")
        #expect(error <= 1e-4)
    }

    @Test("The forward pass matches diffusers' float64 run within 1e-4 relative", arguments: FluxFixture.all)
    func matchesFloat64Output(fixture: FluxFixture) throws {
        let loaded = try fixture.loadModel()
        let output = withoutGradients { try! fixture.inputs().run(loaded.model) }
        let expected = try fixture.expected("output_f64_raw")
        print("[\(fixture)] output vs diffusers float64: \(errorSummary(output, expected))")
        #expect(maximumRelativeError(output, expected) <= 1e-4)
    }
}
