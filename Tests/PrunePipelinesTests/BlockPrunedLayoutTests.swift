import Foundation
import PruneFlux
import PruneKit
import PruneNN
import PrunePipelines
import PruneSDXL
import PruneTensor
import PruneTestSupport
import Testing

/// `PrunedDenoiserLayout` (what `adapt-lora` reads) of exports that removed whole blocks: the unpruned groups and
/// shapes come back from `config.json` (the kept depths) plus `prunekit.json` (the original block counts).
@Suite struct BlockPrunedLayoutTests {
    static func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-layout-blocks-\(UUID().uuidString)").path
    }

    @Test("a block-pruned SDXL export with identity padding reads back the unpruned U-Net's groups and shapes")
    func sdxlBlockExportLayout() throws {
        let source = Fixtures.path("sdxl-small")
        let (model, store) = try UNet2DConditionModel.load(directory: source)
        var selection = UnitSelection(kept: [
            "mid_block.attentions.0.transformer_blocks": [1], "up_blocks.0.attentions.2.transformer_blocks": [],
            "down_blocks.1.attentions.1.transformer_blocks": [],
        ])
        selection.setKept([0], for: "up_blocks.0.attentions.0.transformer_blocks.1.attn1")
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try model.exportPruned(parameters: store, selection: selection, to: directory, provenance: PruningProvenance(sourceDirectory: source))
        let layout = try PrunedDenoiserLayout(path: directory)
        #expect(layout.groups == model.unitGroups)
        #expect(layout.originalShapes == store.parameters.mapValues(\.shape))
        #expect(layout.surgery.prunedKey("mid_block.attentions.0.transformer_blocks.1.ff.net.2.weight") == "mid_block.attentions.0.transformer_blocks.0.ff.net.2.weight")
        #expect(layout.surgery.prunedKey("up_blocks.0.attentions.2.transformer_blocks.0.attn1.to_q.weight") == nil)
    }

    @Test("a block-pruned FLUX export reads back the unpruned transformer's groups")
    func fluxBlockExportLayout() throws {
        let source = Fixtures.path("flux-small")
        let full = try FluxModelLoader.load(directory: source)
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try full.model.exportPruned(
            parameters: full.parameters, selection: UnitSelection(kept: ["single_transformer_blocks": [1], "transformer_blocks.1.ff": [0, 5]]),
            to: directory, provenance: PruningProvenance(sourceDirectory: source))
        let layout = try PrunedDenoiserLayout(path: directory)
        #expect(layout.groups == full.model.unitGroups)
        #expect(layout.surgery.prunedKey("single_transformer_blocks.1.proj_mlp.weight") == "single_transformer_blocks.0.proj_mlp.weight")
    }

    @Test("an SDXL single-file source exports block-pruned with its encoded configuration (per-layer depths, padding) and reloads to the masked model")
    func singleFileBlockExport() throws {
        let file = Fixtures.path("sdxl-pipeline-tiny.safetensors")
        let unet = try SDXLSingleFile(path: file).component("unet")
        let configuration = try JSONDecoder().decode(UNetConfiguration.self, from: try unet.configuration.jsonData())
        let model = try SDXLArchitecture().load(configuration: configuration, source: unet.tensors, sourceName: unet.origin)
        // sdxl-pipeline-tiny: down_blocks.1 has two attentions of 2 blocks, the mid block 2 (tied to the first).
        let selection = UnitSelection(kept: ["mid_block.attentions.0.transformer_blocks": [0], "up_blocks.0.attentions.1.transformer_blocks": []])
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try model.exportPruned(selection: selection, to: directory, provenance: PruningProvenance(sourceDirectory: file), replacing: false, dtype: .float32)
        let written = try JSONDecoder().decode(UNetConfiguration.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/config.json")))
        #expect(written.transformerLayersPerBlock == .list([1, .list([2, 2])]))
        #expect(written.reverseTransformerLayersPerBlock == [.list([2, 0, 2]), 1])
        let (pruned, _) = try UNet2DConditionModel.load(directory: directory)
        let inputs = UNetInputs(
            sample: Tensor.randomNormal([1, 4, 8, 8], standardDeviation: 1, seed: 1), timestep: Tensor([500], shape: [1]),
            encoderHiddenStates: Tensor.randomNormal([1, 7, 72], standardDeviation: 1, seed: 2),
            textEmbeds: Tensor.randomNormal([1, 32], standardDeviation: 1, seed: 3),
            timeIDs: Tensor([64, 64, 0, 0, 64, 64], shape: [1, 6]))
        let masks = selection.binaryMasks(for: model.unitGroups)
        let masked = try withoutGradients { try model.forward(["sample": inputs.sample, "timestep": inputs.timestep, "encoder_hidden_states": inputs.encoderHiddenStates, "text_embeds": inputs.textEmbeds!, "time_ids": inputs.timeIDs!], masks: masks) }
        let reloaded = try withoutGradients { try pruned(inputs) }
        #expect(maximumRelativeError(reloaded, masked) <= 1e-5)
    }
}
