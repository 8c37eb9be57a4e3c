import Foundation
import PruneKit
import PruneTensor
import Testing

/// The sparsity regulariser R(λ): per-module terms averaged over the modules of a kind, summed over kinds.
@Suite struct MaskPenaltyTests {
    /// Two head modules (λ [0, 0] and [1, 2, 3]) and one neuron module (λ [−1, 0.5]).
    static func masks() -> MaskSet {
        let masks = MaskSet(
            modules: [
                .init(key: "a", kind: .attentionHead, unitCount: 2), .init(key: "b", kind: .attentionHead, unitCount: 3),
                .init(key: "c", kind: .feedForwardNeuron, unitCount: 2),
            ],
            parametrization: .hardConcrete(.sdxl))
        masks["a"]!.assign(Tensor([0, 0], shape: [2]))
        masks["b"]!.assign(Tensor([1, 2, 3], shape: [3]))
        masks["c"]!.assign(Tensor([-1, 0.5], shape: [2]))
        return masks
    }

    static func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }

    @Test("Expected L0: Σ σ(λ + 1.990) per module, averaged over the modules of a kind, summed over kinds")
    func expectedL0() {
        let masks = Self.masks()
        let offset = -0.83 * Foundation.log(0.1 / 1.1)  // +1.990
        let heads = (2 * Self.sigmoid(offset) + [1.0, 2, 3].map { Self.sigmoid($0 + offset) }.reduce(0, +)) / 2
        let neurons = Self.sigmoid(-1 + offset) + Self.sigmoid(0.5 + offset)
        let value = MaskPenalty.expectedL0(.sdxl)(masks)
        #expect(abs(Double(value.item()) - (heads + neurons)) < 1e-5)
        // At λ = 3 every unit is almost surely on: R per module ≈ its unit count.
        let dense = MaskSet(modules: [.init(key: "x", kind: .attentionHead, unitCount: 10)], parametrization: .hardConcrete(.sdxl))
        #expect(abs(MaskPenalty.expectedL0(.sdxl)(dense).item() - 10 * Float(Self.sigmoid(3 + offset))) < 1e-4)
    }

    @Test("L1 of λ: the mean |λ| per module, averaged per kind; gradient sign(λ)/(n·L)")
    func l1Lambda() {
        let masks = Self.masks()
        let value = MaskPenalty.l1Lambda(masks)
        #expect(abs(value.item() - Float((0 + 2) / 2.0 + 0.75)) < 1e-6)
        value.backward()
        let sixth: Float = 1 / 6
        #expect(masks["b"]!.gradient!.scalars() == [sixth, sixth, sixth])
        #expect(masks["c"]!.gradient!.scalars() == [-0.5, 0.5])
    }

    @Test("FLUX's L1 of σ(0.4λ + 1): the mean per module, averaged per kind")
    func l1Sigmoid() {
        let masks = Self.masks()
        let f = { (x: Double) in Self.sigmoid(0.4 * x + 1) }
        let heads = ((f(0) + f(0)) / 2 + (f(1) + f(2) + f(3)) / 3) / 2
        let neurons = (f(-1) + f(0.5)) / 2
        #expect(abs(Double(MaskPenalty.fluxSigmoid(masks).item()) - (heads + neurons)) < 1e-6)
    }

    @Test("Only the chosen kinds count, and an empty choice costs nothing")
    func kindFilter() {
        let masks = Self.masks()
        #expect(abs(MaskPenalty.l1Lambda(masks, kinds: [.feedForwardNeuron]).item() - 0.75) < 1e-6)
        #expect(MaskPenalty.l1Lambda(masks, kinds: []).item() == 0)
    }

    @Test("A per-kind β weighs that kind's term alone: value and gradient scale by it, other kinds keep the common β")
    func perKindWeight() {
        let objective = EcoDiffObjective(penalty: .l1Lambda, penaltyWeight: 0.5, kindPenaltyWeights: [.attentionHead: 2])
        #expect(objective.penaltyWeight(of: .attentionHead) == 2 && objective.penaltyWeight(of: .feedForwardNeuron) == 0.5)
        let masks = Self.masks()
        #expect(MaskPenalty.l1Lambda.kindTerms(masks, kinds: Set(UnitKind.allCases)).map(\.kind) == [.attentionHead, .feedForwardNeuron])
        let (unweighted, weighted) = withGradients { objective.penaltyTerms(masks) }
        #expect(abs(unweighted - (1.0 + 0.75)) < 1e-6)
        #expect(abs(weighted.item() - (2 * 1.0 + 0.5 * 0.75)) < 1e-6)
        weighted.backward()
        #expect(masks["b"]!.gradient!.scalars() == [Float(2) / 6, Float(2) / 6, Float(2) / 6])
        #expect(masks["c"]!.gradient!.scalars() == [-0.25, 0.25])
        // A kind outside penalizedKinds has β 0 whatever its entry says.
        var unpenalized = objective
        unpenalized.penalizedKinds = [.feedForwardNeuron]
        #expect(unpenalized.penaltyWeight(of: .attentionHead) == 0)
    }
}
