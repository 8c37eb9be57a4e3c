import Foundation
import PruneKit
import PruneNN
import PruneTensor
import Testing

/// Mask sets: λ leaves, masks for a noise draw, reuse of the draws, evaluation masks.
@Suite struct MaskSetTests {
    static let modules = [
        MaskSet.Module(key: "blocks.0.attn", kind: .attentionHead, unitCount: 4),
        MaskSet.Module(key: "blocks.0.ff", kind: .feedForwardNeuron, unitCount: 6),
        MaskSet.Module(key: "blocks.0.norm", kind: .modulationOutput, unitCount: 3),
    ]

    @Test("λ starts at 3 as float32 leaves that require a gradient, one per unit")
    func initialLambdas() {
        let masks = MaskSet(modules: Self.modules, parametrization: .hardConcrete(.sdxl))
        #expect(masks.unitCount == 13)
        for module in Self.modules {
            let lambda = masks[module.key]!
            #expect(lambda.shape == [module.unitCount])
            #expect(lambda.dtype == .float32 && lambda.isLeaf && lambda.requiresGradient)
            #expect(lambda.scalars().allSatisfy { $0 == 3 })
        }
    }

    @Test("Unit groups become modules in order")
    func fromUnitGroups() {
        let groups = [
            UnitGroup(moduleKey: "a.attn1", kind: .attentionHead, unitCount: 2, slices: []),
            UnitGroup(moduleKey: "a.ff", kind: .feedForwardNeuron, unitCount: 5, slices: []),
        ]
        let masks = MaskSet(groups: groups, parametrization: .sigmoid, initialValue: 0)
        #expect(masks.modules.map(\.key) == ["a.attn1", "a.ff"])
        #expect(masks.modules.map(\.unitCount) == [2, 5])
        #expect(masks["a.ff"]!.scalars() == [0, 0, 0, 0, 0])
    }

    @Test("The same noise and step give bit-identical masks; other steps draw afresh")
    func drawsAreReused() {
        let masks = MaskSet(modules: Self.modules, parametrization: .hardConcrete(.sdxl), initialValue: 0)
        let noise = MaskNoise(seed: 42)
        let first = masks.masks(noise: noise, step: 2)
        let again = masks.masks(noise: noise, step: 2)
        let other = masks.masks(noise: noise, step: 3)
        for module in Self.modules {
            #expect(first[module.key]!.scalars() == again[module.key]!.scalars())
            #expect(first[module.key]!.scalars() != other[module.key]!.scalars())
        }
        // Within a step, recomputing on the tape gives the same values as the no-gradient pass.
        let recorded = withGradients { masks.masks(noise: noise, step: 2) }
        let plain = withoutGradients { masks.masks(noise: noise, step: 2) }
        #expect(recorded["blocks.0.ff"]!.requiresGradient && !plain["blocks.0.ff"]!.requiresGradient)
        #expect(recorded["blocks.0.ff"]!.scalars() == plain["blocks.0.ff"]!.scalars())
    }

    @Test("Per-trajectory noise shares one draw across steps; different seeds differ")
    func perTrajectoryScope() {
        let masks = MaskSet(modules: Self.modules, parametrization: .hardConcrete(.flux), initialValue: 0)
        let shared = MaskNoise(seed: 9, scope: .perTrajectory)
        func heads(_ noise: MaskNoise, step: Int) -> [Float] { masks.masks(noise: noise, step: step)["blocks.0.attn"]!.scalars() }
        #expect(heads(shared, step: 0) == heads(shared, step: 7))
        #expect(heads(MaskNoise(seed: 10), step: 0) != heads(MaskNoise(seed: 9), step: 0))
        var generator = SeededGenerator(seed: 1)
        let a = MaskNoise.draw(using: &generator)
        let b = MaskNoise.draw(using: &generator)
        #expect(a != b)
        var replay = SeededGenerator(seed: 1)
        #expect(MaskNoise.draw(using: &replay) == a)
    }

    @Test("Uniform draws lie in [0, 1) and follow the module order")
    func uniformDraws() {
        let noise = MaskNoise(seed: 3)
        let draws = noise.uniforms(step: 0, modules: [("x", 1000), ("y", 5)])
        let values = draws["x"]!.scalars()
        #expect(values.allSatisfy { $0 >= 0 && $0 < 1 })
        let mean = values.reduce(0, +) / Float(values.count)
        #expect(abs(mean - 0.5) < 0.05)
        // Same stream consumed in the same order.
        var generator = SeededGenerator(seed: 3 ^ (1 &* 0x9E37_79B9_7F4A_7C15))
        #expect(Tensor.randomUniform([1000], using: &generator).scalars() == values)
    }

    @Test("Masks built on the tape send gradients to λ; the sigmoid set ignores noise")
    func gradientsReachLambda() {
        let masks = MaskSet(modules: Self.modules, parametrization: .sigmoid, initialValue: 0)
        let built = masks.masks(noise: MaskNoise(seed: 0), step: 0)
        (built["blocks.0.attn"]!.sum() + built["blocks.0.norm"]!.sum() * 2).backward()
        #expect(masks["blocks.0.attn"]!.gradient!.scalars() == [0.25, 0.25, 0.25, 0.25])
        #expect(masks["blocks.0.norm"]!.gradient!.scalars() == [0.5, 0.5, 0.5])
        #expect(masks["blocks.0.ff"]!.gradient == nil)
        #expect(masks.gradients["blocks.0.ff"]!.scalars() == [0, 0, 0, 0, 0, 0])
        masks.zeroGradients()
        #expect(masks["blocks.0.attn"]!.gradient == nil)
    }

    @Test("Evaluation masks: binarised 1[λ > τ] by default, or the noise-free gate; never on the tape")
    func evaluationMasks() {
        var masks = MaskSet(modules: [MaskSet.Module(key: "m", kind: .attentionHead, unitCount: 4)], parametrization: .hardConcrete(.sdxl))
        masks["m"]!.assign(Tensor([-1, 0, 0.5, 3], shape: [4]))
        let binary = masks.evaluationMasks()["m"]!
        #expect(binary.scalars() == [0, 0, 1, 1])
        #expect(!binary.requiresGradient)
        #expect(masks.evaluationMasks(.binarized(threshold: 0.7))["m"]!.scalars() == [0, 0, 0, 1])
        let gate = masks.evaluationMasks(.noiseFreeGate)["m"]!
        #expect(!gate.requiresGradient)
        #expect(abs(gate.scalars()[1] - 0.5) < 1e-6)
        #expect(gate.scalars()[3] == 1)
        masks.parametrization = .sigmoid
        let sigmoidOfMinusOne = Float(1 / (1 + Foundation.exp(1.0)))
        #expect(abs(masks.evaluationMasks(.noiseFreeGate)["m"]!.scalars()[0] - sigmoidOfMinusOne) < 1e-6)
    }

    @Test("Assigning λ checks every module is present with its shape")
    func assignValidates() throws {
        let masks = MaskSet(modules: Self.modules, parametrization: .sigmoid)
        #expect(throws: MaskSetError.missing(module: "blocks.0.attn")) { try masks.assign([:]) }
        #expect(throws: MaskSetError.shape(module: "blocks.0.attn", expected: [4], actual: [2])) {
            try masks.assign(["blocks.0.attn": Tensor.zeros([2]), "blocks.0.ff": Tensor.zeros([6]), "blocks.0.norm": Tensor.zeros([3])])
        }
        let lambda = masks["blocks.0.attn"]!
        try masks.assign(["blocks.0.attn": Tensor.ones([4]), "blocks.0.ff": Tensor.zeros([6]), "blocks.0.norm": Tensor.zeros([3])])
        #expect(masks["blocks.0.attn"] === lambda)
        #expect(lambda.scalars() == [1, 1, 1, 1])
    }
}
