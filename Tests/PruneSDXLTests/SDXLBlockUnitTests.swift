import Foundation
import PruneKit
import PruneNN
import PruneSDXL
import PruneTensor
import PruneTestSupport
import Testing

/// Whole `BasicTransformerBlock`s as units: every `Transformer2DModel`'s `transformer_blocks` is a block list,
/// masked inline, removed by surgery and exported with diffusers' per-layer `transformer_layers_per_block`.
@Suite struct SDXLBlockUnitTests {
    static let name = "sdxl-small"

    static func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-sdxl-blocks-\(UUID().uuidString)").path
    }

    static func configuration(_ json: String) throws -> UNetConfiguration {
        try JSONDecoder().decode(UNetConfiguration.self, from: Data(json.utf8))
    }

    @Test("every Transformer2DModel's block list is a group before its blocks' units, owning every tensor of a block")
    func blockListGroups() throws {
        let (model, store) = try UNet2DConditionModel.load(directory: Fixtures.path(Self.name))
        let groups = model.unitGroups
        let lists = groups.filter(\.isBlockList)
        // sdxl-small: down 1 (1 attention per layer × 2 layers, depth 1), down 2 (2 × depth 2), mid (2), up 0 (3 × 2), up 1 (3 × 1).
        #expect(lists.map(\.unitCount) == [1, 1, 2, 2, 2, 2, 2, 2, 1, 1, 1])
        #expect(lists.map(\.moduleKey).contains("mid_block.attentions.0.transformer_blocks"))
        for list in lists {
            let index = groups.firstIndex(of: list)!
            #expect(groups[index + 1].moduleKey == list.moduleKey + ".0.attn1")
            for unit in 0..<list.unitCount {
                let prefix = list.blockPrefix(ofUnit: unit)
                #expect(list.wholeTensors[unit] == store.parameters.keys.filter { $0.hasPrefix(prefix) }.sorted())
            }
        }
    }

    @Test("per-layer transformer_layers_per_block and its reverse list parse with diffusers' rules")
    func perLayerDepthsParse() throws {
        let base = #""block_out_channels": [8, 16, 24], "layers_per_block": 2, "norm_num_groups": 4, "attention_head_dim": 2, "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"], "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"]"#
        let plain = try Self.configuration("{\(base), \"transformer_layers_per_block\": [1, 1, 2]}").resolvedTransformerDepths()
        #expect(plain.down == [[1, 1], [1, 1], [2, 2]] && plain.mid == 2 && plain.up == [[2, 2, 2], [1, 1, 1], [1, 1, 1]])
        let perLayer = try Self.configuration(
            "{\(base), \"transformer_layers_per_block\": [1, [0, 1], [3, 2]], \"reverse_transformer_layers_per_block\": [[2, 0, 1], [1, 1, 0], 1]}"
        ).resolvedTransformerDepths()
        #expect(perLayer.down == [[1, 1], [0, 1], [3, 2]] && perLayer.mid == 3 && perLayer.up == [[2, 0, 1], [1, 1, 0], [1, 1, 1]])
        #expect(throws: UNetConfigurationError.self) {
            try Self.configuration("{\(base), \"transformer_layers_per_block\": [1, [0, 1], [3, 2]]}").validate()
        }
        #expect(throws: UNetConfigurationError.self) {
            try Self.configuration("{\(base), \"transformer_layers_per_block\": [1, [0], [3, 2]], \"reverse_transformer_layers_per_block\": [1, 1, 1]}").validate()
        }
        #expect(throws: UNetConfigurationError.self) {
            try Self.configuration("{\(base), \"transformer_layers_per_block\": [1, 1, 2], \"reverse_transformer_layers_per_block\": [1, -1, 1]}").validate()
        }
    }

    @Test("replacing depths by list key writes plain per-block depths where they suffice, else the per-layer form")
    func replacingDepths() throws {
        let configuration = try UNetConfiguration.load(contentsOf: Fixtures.path(Self.name) + "/config.json")
        let same = try configuration.replacingTransformerDepths([:])
        #expect(same.transformerLayersPerBlock == .list([1, 1, 2]) && same.reverseTransformerLayersPerBlock == nil)
        let perLayer = try configuration.replacingTransformerDepths(["up_blocks.1.attentions.2.transformer_blocks": 0])
        #expect(perLayer.transformerLayersPerBlock == .list([1, .list([1, 1]), .list([2, 2])]))
        #expect(perLayer.reverseTransformerLayersPerBlock == [.list([2, 2, 2]), .list([1, 1, 0]), 1])
        #expect(throws: UNetConfigurationError.self) {
            try configuration.replacingTransformerDepths(["mid_block.attentions.0.transformer_blocks": 1])
        }
    }

    /// Blocks removed everywhere the fixture allows: all of `down_blocks.1.attentions.0` (a Transformer2DModel with no
    /// blocks left), block 0 of `down_blocks.2.attentions.0`, block 1 of the mid block (tied to the former: one of
    /// the two is padded), blocks of both up levels.
    static func blockSelection(_ base: UnitSelection) -> UnitSelection {
        var selection = base
        selection.setKept([], for: "down_blocks.1.attentions.0.transformer_blocks")
        selection.setKept([1], for: "down_blocks.2.attentions.0.transformer_blocks")
        selection.setKept([0], for: "mid_block.attentions.0.transformer_blocks")
        selection.setKept([0], for: "up_blocks.0.attentions.1.transformer_blocks")
        selection.setKept([], for: "up_blocks.0.attentions.2.transformer_blocks")
        selection.setKept([], for: "up_blocks.1.attentions.0.transformer_blocks")
        return selection
    }

    @Test("a block-pruned export writes per-layer depths, pads the tied mid block exactly, and reloads to the masked model", arguments: [false, true])
    func blockExportReloads(joint: Bool) throws {
        let source = Fixtures.path(Self.name)
        let (model, store) = try UNet2DConditionModel.load(directory: source)
        let groups = model.unitGroups
        let base = joint ? try UnitSelection(masks: UnitMasks.load(path: source + "/masks.safetensors"), groups: groups) : UnitSelection()
        var selection = Self.blockSelection(base)
        // Mid keeps 1 block, down_blocks.2.attentions.0 keeps 1: no padding yet. Keep both of down 2's first attention.
        selection.setKept([0, 1], for: "down_blocks.2.attentions.0.transformer_blocks")
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let manifest = try SDXLPrunableModel(unet: model, parameters: store).exportPruned(
            selection: selection, to: directory, provenance: PruningProvenance(criterion: "test", sourceDirectory: source))
        #expect(manifest.formatVersion == 2)

        let written = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/config.json"))) as! [String: Any]
        let configuration = try JSONDecoder().decode(UNetConfiguration.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/config.json")))
        #expect(configuration.transformerLayersPerBlock == .list([1, .list([0, 1]), .list([2, 2])]))
        #expect(configuration.reverseTransformerLayersPerBlock == [.list([2, 1, 0]), .list([0, 1, 1]), 1])
        #expect(written["_prunekit_identity_blocks"] as? [String] == ["mid_block.attentions.0.transformer_blocks.1"])
        let original = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: source + "/config.json"))) as! [String: Any]
        #expect(Set(written.keys).subtracting(original.keys) == ["_prunekit_identity_blocks"])

        let (pruned, prunedStore) = try UNet2DConditionModel.load(directory: directory)
        let depths = try pruned.configuration.resolvedTransformerDepths()
        #expect(depths.down == [[1, 1], [0, 1], [2, 2]] && depths.mid == 2 && depths.up == [[2, 1, 0], [0, 1, 1], [1, 1, 1]])
        // The padding block: the mid block's removed block 1, its three residual outputs zero.
        #expect(prunedStore.parameters["mid_block.attentions.0.transformer_blocks.1.ff.net.2.weight"]!.abs().max().item() == 0)
        #expect(prunedStore.parameters["mid_block.attentions.0.transformer_blocks.1.attn1.to_q.weight"]!.abs().max().item() > 0)
        #expect(manifest.parameterCount == prunedStore.parameterCount)
        let accounted = try PrunedAccounting(layout: SDXLPrunableModel(unet: model, parameters: store).layout, selection: selection).parameters
        let padding = store.parameters.filter { $0.key.hasPrefix("mid_block.attentions.0.transformer_blocks.1.") }.values.reduce(0) { $0 + $1.count }
        #expect(manifest.parameterCount == accounted + padding)

        let inputs = try SurgeryExportTests.inputs(Self.name)
        let masks = selection.binaryMasks(for: groups)
        let (masked, reloaded) = try withoutGradients { (try model(inputs, masks: masks), try pruned(inputs)) }
        let error = maximumRelativeError(reloaded, masked)
        print("sdxl-small blocks\(joint ? " + heads/neurons" : ""): reloaded vs masked max|Δ|/max|ref| \(error), parameters \(store.parameterCount) → \(prunedStore.parameterCount)")
        #expect(error <= 1e-5)
        #expect(maximumRelativeError(masked, try withoutGradients { try model(inputs) }) > 1e-3)
    }

    @Test("when the last down block's first attention keeps fewer blocks than the mid block, it is the one padded")
    func downListIsPadded() throws {
        let source = Fixtures.path(Self.name)
        let (model, store) = try UNet2DConditionModel.load(directory: source)
        var selection = UnitSelection()
        selection.setKept([1], for: "down_blocks.2.attentions.0.transformer_blocks")
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try model.exportPruned(parameters: store, selection: selection, to: directory)
        let written = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/config.json"))) as! [String: Any]
        #expect(written["_prunekit_identity_blocks"] as? [String] == ["down_blocks.2.attentions.0.transformer_blocks.1"])
        let (pruned, _) = try UNet2DConditionModel.load(directory: directory)
        let inputs = try SurgeryExportTests.inputs(Self.name)
        let (masked, reloaded) = try withoutGradients { (try model(inputs, masks: selection.binaryMasks(for: model.unitGroups)), try pruned(inputs)) }
        #expect(maximumRelativeError(reloaded, masked) <= 1e-5)
    }

    @Test("a Transformer2DModel with no blocks is proj_out(proj_in(norm(x))) + x")
    func emptyTransformerIsProjectionsOnly() throws {
        let store = ParameterStore(randomSeed: 4)
        let transformer = Transformer2DModel(
            store.root.scoped("t"), channels: 4, headDimension: 2, heads: 2, crossAttentionDimension: 3, groups: 2,
            useLinearProjection: true, depth: 0, widths: .configuration)
        try store.finish()
        let x = Tensor.randomNormal([1, 4, 2, 3], seed: 1)
        let output = withoutGradients { transformer(x, context: Tensor.randomNormal([1, 5, 3], seed: 2), masks: UnitMasks()) }
        let tokens = transformer.norm(x).permuted([0, 2, 3, 1]).reshaped([1, 6, 4])
        let projected = transformer.projectOutLinear!(transformer.projectInLinear!(tokens)).reshaped([1, 2, 3, 4]).permuted([0, 3, 1, 2])
        #expect(maximumRelativeError(output, projected + x) < 1e-6)
        #expect(store.parameters.keys.filter { $0.contains("transformer_blocks") }.isEmpty)
    }
}
