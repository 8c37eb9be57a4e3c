import Foundation
import PruneKit
import PruneTensor
import Testing

/// Hard-concrete and sigmoid gates against values and derivatives worked out by hand.
@Suite struct MaskHardConcreteTests {
    /// `m(λ, u)` and `dm/dλ` in Double, straight from the definition:
    /// n = ln(u + δ) − ln(1 − u + δ); s = σ((λ + n)/T); s̄ = 1.2·s − 0.1; m = clamp(s̄, 0, 1);
    /// dm/dλ = 1.2·s(1 − s)/T where 0 ≤ s̄ ≤ 1, else 0.
    static func reference(lambda: Double, u: Double, delta: Double) -> (value: Double, derivative: Double) {
        let n = Foundation.log(u + delta) - Foundation.log(1 - u + delta)
        let s = 1 / (1 + Foundation.exp(-(lambda + n) / 0.83))
        let stretched = 1.2 * s - 0.1
        let inside = stretched >= 0 && stretched <= 1
        return (min(max(stretched, 0), 1), inside ? 1.2 * s * (1 - s) / 0.83 : 0)
    }

    @Test("At λ = 0 and u = ½ the gate is ½ with slope 1.2·¼/0.83")
    func centre() {
        let lambda = Tensor([0], shape: [1], requiresGradient: true)
        let m = HardConcrete.sdxl.sample(lambda, uniform: Tensor([0.5], shape: [1]))
        m.sum().backward()
        #expect(abs(m.item() - 0.5) < 1e-7)
        #expect(abs(lambda.gradient!.item() - Float(1.2 * 0.25 / 0.83)) < 1e-6)
        #expect(abs(Float(1.2 * 0.25 / 0.83) - 0.3614458) < 1e-6)
    }

    @Test("Values and λ-gradients match the closed form inside and outside the clamp", arguments: [Float(0.5), 0.1])
    func closedForm(delta: Float) {
        let lambdas: [Float] = [-3, -1.2, -0.4, 0, 0.3, 1.1, 2.0, 3]
        let uniforms: [Float] = [0.9, 0.05, 0.5, 0.25, 0.75, 0.999, 0.3, 0.1]
        let lambda = Tensor(lambdas, shape: [8], requiresGradient: true)
        let gate = HardConcrete(noiseBound: delta)
        let m = gate.sample(lambda, uniform: Tensor(uniforms, shape: [8]))
        m.sum().backward()
        let values = m.scalars()
        let gradient = lambda.gradient!.scalars()
        for i in 0..<8 {
            let expected = Self.reference(lambda: Double(lambdas[i]), u: Double(uniforms[i]), delta: Double(delta))
            #expect(abs(Double(values[i]) - expected.value) < 1e-6, "m at λ \(lambdas[i]), u \(uniforms[i])")
            #expect(abs(Double(gradient[i]) - expected.derivative) < 1e-6, "dm/dλ at λ \(lambdas[i]), u \(uniforms[i])")
        }
        // λ = 3, u = 0.9 and λ = −3, u = 0.1 saturate: exactly 1 and 0 with no gradient.
        #expect(values[7] == 1 && gradient[7] == 0 || delta != 0.5)
        #expect(values[0] == 0 && gradient[0] == 0 || delta != 0.5)
    }

    @Test("δ bounds the logistic noise by ln((1 + δ)/δ): 1.0986 for SDXL, 2.3979 for FLUX")
    func noiseBound() {
        #expect(abs(HardConcrete.sdxl.noiseMagnitude - 1.0986123) < 1e-6)
        #expect(abs(HardConcrete.flux.noiseMagnitude - 2.3978953) < 1e-6)
        let extremes = HardConcrete.sdxl.logisticNoise(Tensor([0, 0.5], shape: [2])).scalars()
        #expect(abs(extremes[0] + 1.0986123) < 1e-6)
        #expect(extremes[1] == 0)
    }

    @Test("The constants are EcoDiff's: T 0.83, γ −0.1, ζ 1.1, and the L0 offset T·ln(−γ/ζ) ≈ −1.990")
    func constants() {
        let gate = HardConcrete.sdxl
        #expect(gate.temperature == 0.83 && gate.stretchLower == -0.1 && gate.stretchUpper == 1.1 && gate.noiseBound == 0.5)
        #expect(HardConcrete.flux.noiseBound == 0.1)
        #expect(abs(gate.l0Offset - Float(0.83 * Foundation.log(0.1 / 1.1))) < 1e-6)
        #expect(abs(gate.l0Offset + 1.9902) < 1e-4)
        // P(gate ≠ 0) at λ = 0 is σ(1.990) ≈ 0.8798.
        #expect(abs(gate.probabilityNonZero(Tensor([0], shape: [1])).item() - 0.87978) < 1e-4)
    }

    @Test("smallestGate is the sample at the most negative noise: at λ₀ = 3, 0.9897 with SDXL's δ and 0.70 with FLUX's published δ")
    func smallestGate() {
        for gate in [HardConcrete.sdxl, HardConcrete.flux] {
            for lambda: Float in [-1, 0.5, 3, 5] {
                let sampled = gate.sample(Tensor([lambda], shape: [1]), uniform: Tensor([0], shape: [1])).item()
                #expect(abs(gate.smallestGate(lambda: lambda) - sampled) < 1e-6, "δ \(gate.noiseBound), λ \(lambda)")
            }
        }
        #expect(abs(HardConcrete.sdxl.smallestGate(lambda: 3) - 0.9897) < 1e-4)
        #expect(abs(HardConcrete.flux.smallestGate(lambda: 3) - 0.70) < 0.01)
    }

    /// The failure of issue 18: with EcoDiff's published FLUX gate every unit can fall to 0.70 from the first
    /// step, λ learn importance in a heavily perturbed model, and on the FLUX demo the learned head order was
    /// unrelated to the measured damage of removing each head (docs/ecodiff-flux-diagnosis.md).
    @Test("Every family's EcoDiff settings start mask training within 2 % of the unmasked model")
    func settingsStartNearTheUnmaskedModel() {
        for (name, settings) in [("sdxl", EcoDiffSettings.sdxl), ("flux", EcoDiffSettings.flux)] {
            guard case .hardConcrete(let gate) = settings.parametrization else {
                Issue.record("\(name): EcoDiff trains hard-concrete gates")
                continue
            }
            #expect(gate.smallestGate(lambda: MaskSet.defaultInitialValue) >= 0.98, "\(name)")
        }
        guard case .hardConcrete(let published) = EcoDiffSettings.fluxPublished.parametrization else { return }
        #expect(published.smallestGate(lambda: MaskSet.defaultInitialValue) < 0.98)
    }

    @Test("The noise-free gate is the sample at u = ½")
    func noiseFree() {
        let lambda = Tensor([-2.5, -0.7, 0, 0.9, 2.5], shape: [5])
        let gate = HardConcrete.flux
        #expect(gate.noiseFreeGate(lambda).scalars() == gate.sample(lambda, uniform: Tensor.full([5], value: 0.5)).scalars())
    }

    @Test("The sigmoid parametrisation is σ(λ) with slope σ(1 − σ), and ignores noise")
    func sigmoidVariant() {
        let lambda = Tensor([-1, 0, 2], shape: [3], requiresGradient: true)
        let m = MaskParametrization.sigmoid.mask(lambda, uniform: nil)
        m.sum().backward()
        for (i, x) in [-1.0, 0, 2].enumerated() {
            let s = 1 / (1 + Foundation.exp(-x))
            #expect(abs(Double(m.scalars()[i]) - s) < 1e-6)
            #expect(abs(Double(lambda.gradient!.scalars()[i]) - s * (1 - s)) < 1e-6)
        }
        #expect(!MaskParametrization.sigmoid.isStochastic)
        #expect(MaskParametrization.hardConcrete(.sdxl).isStochastic)
    }
}
