import Foundation
import PruneNN
import PruneTensor
import Testing

/// AdamW against PyTorch's `torch.optim.AdamW` update, worked out by hand.
@Suite struct AdamWTests {
    /// PyTorch AdamW for one scalar parameter over a gradient sequence, in Double:
    /// p ← p(1 − lr·wd); m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
    /// p ← p − (lr/(1−β₁ᵗ))·m/(√v/√(1−β₂ᵗ) + ε).
    static func reference(
        _ p0: Double, gradients: [Double], lr: Double, wd: Double, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8
    ) -> [Double] {
        var (p, m, v) = (p0, 0.0, 0.0)
        var trace: [Double] = []
        for (index, g) in gradients.enumerated() {
            let t = Double(index + 1)
            p *= 1 - lr * wd
            m = betas.0 * m + (1 - betas.0) * g
            v = betas.1 * v + (1 - betas.1) * g * g
            let denominator = v.squareRoot() / (1 - Foundation.pow(betas.1, t)).squareRoot() + eps
            p -= lr / (1 - Foundation.pow(betas.0, t)) * m / denominator
            trace.append(p)
        }
        return trace
    }

    @Test("The first step moves each entry by lr·sign(g) after the decay p·(1 − lr·wd)")
    func firstStepByHand() {
        let p = Tensor([1, -2, 0.5], shape: [3])
        var adam = AdamW(groups: [ParameterGroup(name: "all", parameters: [(key: "p", tensor: p)], learningRate: 0.1, weightDecay: 0.01)])
        p.gradient = Tensor([0.5, -1, 0], shape: [3])
        adam.step()
        // m̂ = g and v̂ = g², so the update is lr·g/(|g| + ε): 1·0.999 − 0.1 = 0.899; −2·0.999 + 0.1 = −1.898;
        // a zero gradient leaves only the decay, 0.5·0.999.
        let values = p.scalars()
        #expect(abs(values[0] - 0.899) < 1e-6)
        #expect(abs(values[1] + 1.898) < 1e-6)
        #expect(abs(values[2] - 0.4995) < 1e-7)
        #expect(adam.stepCount == 1)
    }

    @Test("Two steps match the hand computation of PyTorch's AdamW")
    func twoStepsByHand() {
        let initial: [Float] = [1, -2, 0.3, 3]
        let gradients: [[Float]] = [[0.5, -1, 0.2, -0.05], [0.1, 0.3, -0.4, -0.05]]
        let p = Tensor(initial, shape: [2, 2])
        var adam = AdamW(groups: [ParameterGroup(name: "all", parameters: [(key: "p", tensor: p)], learningRate: 0.05, weightDecay: 0.01)])
        for g in gradients {
            p.gradient = Tensor(g, shape: [2, 2])
            adam.step()
        }
        for i in 0..<4 {
            let expected = Self.reference(Double(initial[i]), gradients: gradients.map { Double($0[i]) }, lr: 0.05, wd: 0.01).last!
            #expect(abs(Double(p.scalars()[i]) - expected) < 1e-6, "entry \(i)")
        }
        // Entry 0 written out: step 1 → 1·0.9995 − 0.05 = 0.9495; step 2: p = 0.9495·0.9995 = 0.94902525,
        // m = 0.9·0.05 + 0.1·0.1 = 0.055, v = 0.999·0.00025 + 0.001·0.01 = 0.00025975,
        // update = (0.05/0.19)·0.055 / (√0.00025975/√0.001999 + 1e-8) = 0.0401520…, p = 0.9088732.
        #expect(abs(p.scalars()[0] - 0.9088732) < 2e-6)
    }

    @Test("Each parameter group uses its own learning rate and weight decay")
    func groupsHaveTheirOwnRates() {
        let a = Tensor([1, 1], shape: [2])
        let b = Tensor([1, 1], shape: [2])
        var adam = AdamW(groups: [
            ParameterGroup(name: "fast", parameters: [(key: "a", tensor: a)], learningRate: 0.5, weightDecay: 0),
            ParameterGroup(name: "slow", parameters: [(key: "b", tensor: b)], learningRate: 0.1, weightDecay: 0.1),
        ])
        a.gradient = Tensor([1, -1], shape: [2])
        b.gradient = Tensor([1, -1], shape: [2])
        adam.step()
        #expect(zip(a.scalars(), [0.5, 1.5]).allSatisfy { abs($0 - $1) < 1e-6 })
        #expect(zip(b.scalars(), [0.89, 1.09]).allSatisfy { abs($0 - $1) < 1e-6 })
        adam.setLearningRate(0, group: "fast")
        adam.step()
        #expect(zip(a.scalars(), [0.5, 1.5]).allSatisfy { abs($0 - $1) < 1e-6 })
    }

    @Test("Parameters without a gradient are left alone, and zeroGradients clears every gradient")
    func missingGradientsAreSkipped() {
        let a = Tensor([2], shape: [1])
        let b = Tensor([2], shape: [1])
        var adam = AdamW(groups: [ParameterGroup(name: "g", parameters: ["a": a, "b": b], learningRate: 0.1)])
        #expect(adam.parameterKeys == ["a", "b"])
        a.gradient = Tensor([1], shape: [1])
        adam.step()
        #expect(b.scalars() == [2])
        #expect(adam.state.tensors.keys.sorted() == ["exp_avg.a", "exp_avg_sq.a"])
        adam.zeroGradients()
        #expect(a.gradient == nil)
    }
}
