import Foundation
import PruneFlux
import PruneKit
import PruneNN
import PruneSDXL
import PruneTensor
import PruneTestSupport
import Testing

/// The end-to-end λ gradient: time-step gradient checkpointing against one full tape, and both against
/// central finite differences of the loss, on the tiny SDXL and FLUX fixtures unrolled for three steps.
@Suite struct ObjectiveGradientTests {
    static let steps = 3

    @Test("SDXL: checkpointed and full-tape λ gradients agree within 1e-5 relative")
    func sdxlModesAgree() throws {
        let fixture = try ObjectiveFixtures.sdxl(steps: Self.steps)
        try expectModesAgree(fixture, parametrization: .hardConcrete(.sdxl), objective: .sdxl)
    }

    @Test("FLUX: checkpointed and full-tape λ gradients agree within 1e-5 relative")
    func fluxModesAgree() throws {
        let fixture = try ObjectiveFixtures.flux(steps: Self.steps)
        try expectModesAgree(fixture, parametrization: .hardConcrete(.flux), objective: .flux)
    }

    @Test("SDXL: the checkpointed gradient matches central finite differences of the loss")
    func sdxlFiniteDifferences() throws {
        let fixture = try ObjectiveFixtures.sdxl(steps: Self.steps)
        // sdxl-tiny (head_dim 1, LayerNorm over 4 channels) is strongly non-linear in λ: h = 0.05 is
        // far outside the quadratic range, h = 1e-3 agrees to ~0.2%.
        try expectFiniteDifferencesAgree(fixture, parametrization: .hardConcrete(.sdxl), objective: .sdxl, step: 1e-3, tolerance: 1e-2)
    }

    @Test("FLUX: the checkpointed gradient matches central finite differences of the loss")
    func fluxFiniteDifferences() throws {
        let fixture = try ObjectiveFixtures.flux(steps: Self.steps)
        // FLUX's δ = 0.1 noise reaches ±2.4 and would saturate some gates; the SDXL gate keeps every entry
        // differentiable while exercising the same code path.
        try expectFiniteDifferencesAgree(fixture, parametrization: .hardConcrete(.sdxl), objective: .flux, step: 0.05, tolerance: 2e-3)
    }

    @Test("Gradients of several prompts add up")
    func gradientsAccumulateOverPrompts() throws {
        let fixture = try ObjectiveFixtures.flux(steps: 2)
        let masks = fixture.unsaturatedMasks(parametrization: .hardConcrete(.sdxl))
        let objective = EcoDiffObjective.flux
        let noises = [fixture.noise, Tensor.randomNormal(fixture.noise.shape, seed: 3)]
        var separate: [[Float]] = []
        for (index, noise) in noises.enumerated() {
            masks.zeroGradients()
            let target = try EcoDiffObjective.target(of: fixture.trajectory, noise: noise)
            _ = try objective.accumulateGradients(
                fixture.trajectory, noise: noise, target: target, masks: masks, maskNoise: MaskNoise(seed: UInt64(index)))
            separate.append(flattened(masks.gradients, modules: fixture.modules))
        }
        masks.zeroGradients()
        for (index, noise) in noises.enumerated() {
            let target = try EcoDiffObjective.target(of: fixture.trajectory, noise: noise)
            _ = try objective.accumulateGradients(
                fixture.trajectory, noise: noise, target: target, masks: masks, maskNoise: MaskNoise(seed: UInt64(index)))
        }
        let accumulated = flattened(masks.gradients, modules: fixture.modules)
        let sum = zip(separate[0], separate[1]).map { $0 + $1 }
        #expect(relativeDifference(accumulated, sum) <= 1e-6)
    }

    @Test("The unmasked target of a trajectory is its unmasked final latent, and all-ones masks reproduce it")
    func targetIsTheUnmaskedTrajectory() throws {
        let fixture = try ObjectiveFixtures.flux(steps: 2)
        let target = try EcoDiffObjective.target(of: fixture.trajectory, noise: fixture.noise)
        // λ large enough that every hard-concrete gate saturates at 1: the loss is the penalty alone.
        let masks = MaskSet(modules: fixture.modules, parametrization: .hardConcrete(.sdxl), initialValue: 10)
        let value = try EcoDiffObjective.sdxl.evaluate(
            fixture.trajectory, noise: fixture.noise, target: target, masks: masks, maskNoise: MaskNoise(seed: 1))
        #expect(value.reconstruction == 0)
        // R = mean|λ| of the heads + mean|λ| of the neurons = 10 + 10; β = 0.5.
        #expect(abs(value.penalty - 20) < 1e-5)
        #expect(abs(value.total - 10) < 1e-5)
    }

    @Test("A target that does not fit the final latent is a typed error")
    func mismatchedTargetThrows() throws {
        let fixture = try ObjectiveFixtures.flux(steps: 1)
        let masks = MaskSet(modules: fixture.modules, parametrization: .sigmoid)
        for mode in BackpropagationMode.allCases {
            var objective = EcoDiffObjective.flux
            objective.mode = mode
            #expect(throws: ObjectiveError.targetShape(expected: fixture.noise.shape, actual: [3])) {
                try objective.accumulateGradients(
                    fixture.trajectory, noise: fixture.noise, target: Tensor.zeros([3]), masks: masks, maskNoise: MaskNoise(seed: 0))
            }
        }
    }

    // MARK: - Helpers

    private func expectModesAgree<T: DenoisingTrajectory>(
        _ fixture: ObjectiveCase<T>, parametrization: MaskParametrization, objective: EcoDiffObjective
    ) throws {
        let masks = fixture.unsaturatedMasks(parametrization: parametrization)
        let target = try EcoDiffObjective.target(of: fixture.trajectory, noise: fixture.noise)
        let maskNoise = MaskNoise(seed: 11)
        var results: [BackpropagationMode: (value: ObjectiveValue, gradient: [Float])] = [:]
        for mode in BackpropagationMode.allCases {
            var objective = objective
            objective.mode = mode
            masks.zeroGradients()
            let value = try objective.accumulateGradients(
                fixture.trajectory, noise: fixture.noise, target: target, masks: masks, maskNoise: maskNoise)
            results[mode] = (value, flattened(masks.gradients, modules: fixture.modules))
        }
        let checkpointed = try #require(results[.checkpointed])
        let fullTape = try #require(results[.fullTape])
        let difference = relativeDifference(checkpointed.gradient, fullTape.gradient)
        let scale = fullTape.gradient.reduce(Float(0)) { max($0, abs($1)) }
        print(
            "\(fixture.name) \(Self.steps) steps: checkpointed vs full tape λ-gradient max|Δ|/max|g| = \(difference)",
            "(max|g| \(scale)); \(checkpointed.value)")
        #expect(scale > 0)
        #expect(difference <= 1e-5)
        #expect(abs(checkpointed.value.total - fullTape.value.total) <= 1e-6 * max(1, abs(fullTape.value.total)))
    }

    private func expectFiniteDifferencesAgree<T: DenoisingTrajectory>(
        _ fixture: ObjectiveCase<T>, parametrization: MaskParametrization, objective: EcoDiffObjective, step h: Float,
        tolerance: Float
    ) throws {
        let masks = fixture.unsaturatedMasks(parametrization: parametrization)
        let target = try EcoDiffObjective.target(of: fixture.trajectory, noise: fixture.noise)
        let maskNoise = MaskNoise(seed: 11)
        masks.zeroGradients()
        _ = try objective.accumulateGradients(fixture.trajectory, noise: fixture.noise, target: target, masks: masks, maskNoise: maskNoise)
        let gradients = masks.gradients
        // The two largest-gradient units of each kind.
        var entries: [(key: String, unit: Int, gradient: Float)] = []
        for kind in [UnitKind.attentionHead, .feedForwardNeuron] {
            var candidates: [(key: String, unit: Int, gradient: Float)] = []
            for module in fixture.modules where module.kind == kind {
                for (unit, value) in gradients[module.key]!.scalars().enumerated() { candidates.append((module.key, unit, value)) }
            }
            entries += candidates.sorted { abs($0.gradient) > abs($1.gradient) }.prefix(2)
        }
        var worst: Float = 0
        let scale = entries.reduce(Float(0)) { max($0, abs($1.gradient)) }
        for entry in entries {
            let lambda = masks[entry.key]!
            let original = lambda.scalars()
            func loss(at offset: Float) throws -> Double {
                var values = original
                values[entry.unit] += offset
                lambda.assign(Tensor(values, shape: lambda.shape))
                defer { lambda.assign(Tensor(original, shape: lambda.shape)) }
                let value = try objective.evaluate(
                    fixture.trajectory, noise: fixture.noise, target: target, masks: masks, maskNoise: maskNoise)
                return Double(value.total)
            }
            let finiteDifference = Float((try loss(at: h) - loss(at: -h)) / Double(2 * h))
            let error = abs(finiteDifference - entry.gradient) / scale
            worst = max(worst, error)
            print(
                "\(fixture.name) h \(h) λ[\(entry.key)][\(entry.unit)]: analytic \(entry.gradient),",
                "central difference \(finiteDifference), error/max|g| \(error)")
        }
        print("\(fixture.name): worst finite-difference error relative to max|g| (\(scale)) = \(worst)")
        #expect(scale > 0)
        #expect(worst <= tolerance)
    }
}
