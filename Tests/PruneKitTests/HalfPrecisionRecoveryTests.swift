import PruneKit
import PruneNN
import PruneTensor
import Testing

/// Recovery updates weights in place, so 16-bit weights are widened to float32 where it does.
@Suite struct HalfPrecisionRecoveryTests {
    @Test("Merging LoRA into a bfloat16 weight widens it to float32 in place and adds scale·B·A")
    func mergeWidensHalfPrecisionWeight() {
        let weight = Tensor.randomNormal([6, 5], seed: 1).converted(to: .bfloat16)
        let before = weight.scalars()
        let adapter = LowRankAdapter(
            down: Tensor.randomNormal([2, 5], seed: 2), up: Tensor.randomNormal([6, 2], seed: 3), scale: 0.5)
        var adapters = LowRankAdapters()
        adapters.add(adapter, key: "proj.weight", weight: weight)
        DistillationRecovery.merge(adapters, into: ["proj.weight": weight])
        #expect(weight.dtype == .float32)
        #expect(adapters.adapter(for: weight) === adapter, "the layer's tensor object is kept")
        let delta = adapter.delta.scalars()
        #expect(zip(weight.scalars(), zip(before, delta)).allSatisfy { abs($0 - ($1.0 + $1.1)) <= 1e-6 })
    }
}
