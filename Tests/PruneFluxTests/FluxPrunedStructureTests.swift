import PruneFlux
import PruneKit
import PruneNN
import PruneTensor
import PruneTestSupport
import Testing

/// A model built with fewer heads and narrower FFNs per module (the shape of a physically pruned export)
/// reproduces the masked model whose removed units have mask 0.
@Suite struct FluxPrunedStructureTests {
    /// Binary masks for flux-small: a few units removed per module, one module removed entirely.
    static func binaryMasks(_ groups: [UnitGroup]) -> UnitMasks {
        var masks = UnitMasks()
        for (index, group) in groups.enumerated() {
            var values = [Float](repeating: 1, count: group.unitCount)
            if group.moduleKey == "single_transformer_blocks.1.attn" {
                values = values.map { _ in 0 }  // every head of this module removed
            } else {
                for unit in stride(from: index % 3, to: group.unitCount, by: 3) { values[unit] = 0 }
            }
            masks[group.moduleKey] = Tensor(values, shape: [group.unitCount])
        }
        return masks
    }

    /// The kept unit indices of a binary mask.
    static func kept(_ mask: Tensor) -> [Int] { mask.scalars().enumerated().filter { $0.element != 0 }.map(\.offset) }

    /// Row indices of the kept heads' channels.
    static func channels(_ heads: [Int], headDimension: Int) -> [Int] { heads.flatMap { h in (h * headDimension)..<((h + 1) * headDimension) } }

    /// The weights with the masked-out units sliced away (rows of the producing projections, columns of the
    /// consuming ones).
    static func sliced(_ tensors: [String: Tensor], masks: UnitMasks, configuration: FluxConfiguration, headDimension: Int, inner: Int) -> [String: Tensor] {
        var result = tensors
        func rows(_ key: String, _ indices: [Int]) {
            for parameter in ["weight", "bias"] { result["\(key).\(parameter)"] = tensors["\(key).\(parameter)"]!.indexSelect(axis: 0, indices: indices) }
        }
        func columns(_ key: String, _ indices: [Int]) {
            result["\(key).weight"] = tensors["\(key).weight"]!.indexSelect(axis: 1, indices: indices)
        }
        for index in 0..<configuration.doubleBlockCount {
            let p = "transformer_blocks.\(index)"
            let heads = channels(kept(masks["\(p).attn"]!), headDimension: headDimension)
            for name in ["to_q", "to_k", "to_v", "add_q_proj", "add_k_proj", "add_v_proj"] { rows("\(p).attn.\(name)", heads) }
            columns("\(p).attn.to_out.0", heads)
            columns("\(p).attn.to_add_out", heads)
            for ff in ["ff", "ff_context"] {
                let neurons = kept(masks["\(p).\(ff)"]!)
                rows("\(p).\(ff).net.0.proj", neurons)
                columns("\(p).\(ff).net.2", neurons)
            }
        }
        for index in 0..<configuration.singleBlockCount {
            let p = "single_transformer_blocks.\(index)"
            let heads = channels(kept(masks["\(p).attn"]!), headDimension: headDimension)
            let neurons = kept(masks["\(p).mlp"]!)
            for name in ["to_q", "to_k", "to_v"] { rows("\(p).attn.\(name)", heads) }
            rows("\(p).proj_mlp", neurons)
            columns("\(p).proj_out", heads + neurons.map { inner + $0 })
        }
        return result
    }

    @Test("Slicing out masked units gives a smaller model with the masked model's output")
    func slicedModelMatchesMaskedModel() throws {
        let fixture = FluxFixture.all[1]
        let full = try fixture.loadModel()
        let configuration = full.configuration
        let masks = Self.binaryMasks(full.model.unitGroups.filter { !$0.isBlockList })
        let tensors = Self.sliced(
            try FluxBlackForestLabsTests.diffusersTensors(fixture), masks: masks, configuration: configuration,
            headDimension: configuration.headDimension, inner: configuration.innerDimension)

        let pruned = try FluxModelLoader.load(
            configuration: configuration, source: DictionaryTensorSource(tensors), sourceName: "sliced", widths: .inferredFromWeights)
        #expect(pruned.widths["single_transformer_blocks.1.attn"] == 0)
        #expect(pruned.widths["transformer_blocks.0.attn"] == 2)
        #expect(pruned.model.unitGroups.filter { !$0.isBlockList }.map(\.unitCount) == full.model.unitGroups.filter { !$0.isBlockList }.map {
            Self.kept(masks[$0.moduleKey]!).count
        })
        #expect(pruned.parameters.parameterCount == FluxTransformer2DModel.layout(configuration: configuration, widths: pruned.widths).parameterCount)
        #expect(pruned.parameters.parameterCount < full.parameters.parameterCount)

        let inputs = try fixture.inputs()
        let (masked, smaller) = withoutGradients { (inputs.run(full.model, masks: masks), inputs.run(pruned.model)) }
        print("[flux-small] pruned model vs masked model: \(errorSummary(smaller, masked))")
        #expect(maximumRelativeError(smaller, masked) <= 1e-5)
    }

    @Test("A module with every unit pruned contributes only its output bias, not an identity")
    func emptyModulesKeepTheirBias() throws {
        let configuration = FluxConfiguration(
            inChannels: 8, doubleBlockCount: 1, singleBlockCount: 1, headDimension: 4, headCount: 2,
            jointAttentionDimension: 6, pooledProjectionDimension: 5, ropeAxesDimensions: [2, 2])
        let full = FluxModelLoader.random(configuration: configuration, seed: 3)
        var masks = UnitMasks()
        let groups = full.model.unitGroups.filter { !$0.isBlockList }
        for group in groups { masks[group.moduleKey] = Tensor.zeros([group.unitCount]) }
        let empty = UnitWidths(Dictionary(uniqueKeysWithValues: groups.map { ($0.moduleKey, 0) }))
        let zeroSized = Self.sliced(
            full.parameters.parameters,
            masks: masks, configuration: configuration, headDimension: 4, inner: 8)
        let pruned = try FluxModelLoader.load(
            configuration: configuration, source: DictionaryTensorSource(zeroSized), sourceName: "empty", widths: .explicit(empty))
        let inputs = FluxInputs(
            hiddenStates: Tensor.randomNormal([2, 6, 8], seed: 1), encoderHiddenStates: Tensor.randomNormal([2, 3, 6], seed: 2),
            pooledProjections: Tensor.randomNormal([2, 5], seed: 3), timestep: Tensor([0.3, 0.9], shape: [2]),
            imageIDs: FluxLatentPacking.imageIDs(rows: 2, columns: 3).sliced(axis: 1, 1..<3).contiguous(),
            textIDs: Tensor.zeros([3, 2]), guidance: nil)
        let (masked, smaller) = withoutGradients { (inputs.run(full.model, masks: masks), inputs.run(pruned.model)) }
        #expect(smaller.scalars().allSatisfy { $0.isFinite })
        #expect(maximumRelativeError(smaller, masked) <= 1e-5)
    }
}
