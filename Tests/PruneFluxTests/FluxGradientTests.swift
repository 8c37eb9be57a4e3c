import PruneFlux
import PruneKit
import PruneNN
import PruneTensor
import PruneTestSupport
import Testing

/// Reverse-mode gradients of `loss = sum(masked_output · loss_weights)` against diffusers' autograd.
@Suite struct FluxGradientTests {
    @Test("Gradients with respect to every mask and the named weights match diffusers within 1e-3", arguments: FluxFixture.all)
    func gradientsMatch(fixture: FluxFixture) throws {
        let loaded = try fixture.loadModel()
        let weightKeys = try fixture.gradientWeightKeys()
        for key in weightKeys {
            let weight = try #require(loaded.parameters.parameters[key], "no parameter \(key)")
            weight.requiresGradient = true
        }
        let masks = try fixture.masks(requiringGradient: true)
        let output = try fixture.inputs().run(loaded.model, masks: masks)
        let loss = (output * (try fixture.expected("loss_weights"))).sum()
        loss.backward()

        var compared = 0
        for (module, mask) in masks.byModule.sorted(by: { $0.key < $1.key }) {
            let gradient = try #require(mask.gradient, "no gradient for mask \(module)")
            let expected = try fixture.expected("grad.mask.\(module)")
            print("[\(fixture)] ∂loss/∂mask.\(module): vs f32 \(errorSummary(gradient, expected)); vs f64 \(maximumRelativeError(gradient, try fixture.expected("grad_f64.mask.\(module)")))")
            #expect(maximumRelativeError(gradient, expected) <= 1e-3, "mask \(module)")
            compared += 1
        }
        for key in weightKeys {
            let gradient = try #require(loaded.parameters.parameters[key]?.gradient, "no gradient for \(key)")
            let expected = try fixture.expected("grad.\(key)")
            print("[\(fixture)] ∂loss/∂\(key): vs f32 \(errorSummary(gradient, expected)); vs f64 \(maximumRelativeError(gradient, try fixture.expected("grad_f64.\(key)")))")
            #expect(maximumRelativeError(gradient, expected) <= 1e-3, "weight \(key)")
            compared += 1
        }
        #expect(compared == loaded.model.unitGroups.filter { !$0.isBlockList }.count + 4)
    }
}
