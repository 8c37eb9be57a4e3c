import Foundation
import PruneKit
import PruneNN
import PruneSDXL
import PruneTensor
import PruneTestSupport
import Testing

/// A physically pruned, exported and reloaded U-Net reproduces the masked model it was cut from.
@Suite struct SurgeryExportTests {
    static let cases = ["sdxl-tiny", "sdxl-small"]

    /// The fixture's forward inputs.
    static func inputs(_ name: String) throws -> UNetInputs {
        let file = try SafetensorsFile.open(Fixtures.path("\(name)/inputs.safetensors"))
        return UNetInputs(
            sample: try file.tensor("sample"), timestep: try file.tensor("timestep"),
            encoderHiddenStates: try file.tensor("encoder_hidden_states"),
            textEmbeds: file.contains("text_embeds") ? try file.tensor("text_embeds") : nil,
            timeIDs: file.contains("time_ids") ? try file.tensor("time_ids") : nil)
    }

    /// The fixture masks binarised at 0.5, with the first `attn2` and the last `ff` removed entirely.
    static func selection(_ name: String, groups: [UnitGroup]) throws -> UnitSelection {
        var selection = try UnitSelection(masks: UnitMasks.load(path: Fixtures.path("\(name)/masks.safetensors")), groups: groups)
        selection.setKept([], for: groups.first { $0.moduleKey.hasSuffix(".attn2") }!.moduleKey)
        selection.setKept([], for: groups.last { $0.moduleKey.hasSuffix(".ff") }!.moduleKey)
        return selection
    }

    static func temporaryDirectory(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-\(name)-\(UUID().uuidString)").path
    }

    @Test("The reloaded export matches the binary-masked model within 1e-5, with the expected size and structure", arguments: cases)
    func exportReproducesMaskedModel(name: String) throws {
        let source = Fixtures.path(name)
        let (model, store) = try UNet2DConditionModel.load(directory: source)
        let groups = model.unitGroups
        let selection = try Self.selection(name, groups: groups)
        #expect(selection.removedUnitCount(in: groups) > 0)
        #expect(groups.contains { selection.keptUnits(of: $0).count == $0.unitCount - 1 || selection.keptUnits(of: $0).count == 1 })

        let directory = Self.temporaryDirectory(name)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let manifest = try model.exportPruned(
            parameters: store, selection: selection, to: directory,
            provenance: PruningProvenance(criterion: "fixture-masks", target: 0.5, seed: 0, sourceDirectory: source))
        let (pruned, prunedStore) = try UNet2DConditionModel.load(directory: directory)

        // Same output as the masked model.
        let inputs = try Self.inputs(name)
        let masks = selection.binaryMasks(for: groups)
        let (masked, reloaded) = try withoutGradients { (try model(inputs, masks: masks), try pruned(inputs)) }
        let error = maximumRelativeError(reloaded, masked)
        print("\(name) export: reloaded vs masked max|Δ|/max|ref| \(error), parameters \(store.parameterCount) → \(prunedStore.parameterCount)")
        #expect(error <= 1e-5)
        let unmasked = try withoutGradients { try model(inputs) }
        #expect(maximumRelativeError(masked, unmasked) > 1e-3, "the masks must change the output")

        // Parameters: the original minus each removed unit's cost.
        let shapes = store.parameters.mapValues(\.shape)
        let removed = selection.removedParameterCount(in: groups) { shapes[$0] }
        #expect(prunedStore.parameterCount == store.parameterCount - removed)
        #expect(manifest.parameterCount == prunedStore.parameterCount && manifest.removedParameterCount == removed)

        // Structure: kept units per module, and the pruned groups of the surgery.
        let surgery = try ParameterSurgery(groups: groups, selection: selection) { shapes[$0] }
        #expect(pruned.unitGroups == surgery.prunedGroups)
        #expect(pruned.unitGroups.map(\.unitCount) == groups.map { selection.keptUnits(of: $0).count })
        #expect(pruned.unitGroups.contains { $0.unitCount == 0 && $0.kind == .attentionHead })
        #expect(pruned.unitGroups.contains { $0.unitCount == 0 && $0.kind == .feedForwardNeuron })
        let accounting = SDXLPrunableModel(unet: pruned, parameters: prunedStore).accounting
        #expect(accounting.parameters == prunedStore.parameterCount)
        #expect(accounting.heads == groups.filter { $0.kind == .attentionHead }.reduce(0) { $0 + selection.keptUnits(of: $1).count })

        // The manifest, masks and fingerprint on disk.
        let reread = try ExportManifest.load(directory: directory)
        #expect(reread == manifest)
        // The block lists, all kept, are not recorded (format version 1).
        let recorded = groups.filter { !$0.isBlockList }
        #expect(reread.formatVersion == 1)
        let text = try String(contentsOfFile: directory + "/prunekit.json", encoding: .utf8)
        #expect(text.split(separator: "\n").filter { $0.contains("\"key\":") }.count == recorded.count, "one line per module")
        #expect(reread.architecture == "UNet2DConditionModel")
        #expect(reread.modules.map(\.key) == recorded.map(\.moduleKey))
        #expect(reread.selection.kept == Dictionary(uniqueKeysWithValues: recorded.map { ($0.moduleKey, selection.keptUnits(of: $0)) }))
        let digest = try SHA256Hasher.digest(ofFile: source + "/diffusion_pytorch_model.safetensors")
        #expect(reread.source.files.map(\.sha256) == [digest.hex])
        let written = try UnitMasks.load(path: directory + "/masks.safetensors")
        for group in recorded { #expect(written[group.moduleKey]?.scalars() == masks[group.moduleKey]?.scalars()) }
        #expect(FileManager.default.contents(atPath: directory + "/config.json") == FileManager.default.contents(atPath: source + "/config.json"))
    }

    @Test("Unpruned checkpoints infer their configuration's widths; a pruned export does not load as unpruned")
    func structureInference() throws {
        let source = Fixtures.path("sdxl-small")
        let (inferred, _) = try UNet2DConditionModel.load(directory: source)
        let (configured, _) = try UNet2DConditionModel.load(directory: source, widths: .configuration)
        #expect(inferred.widths == .configuration)
        #expect(inferred.unitGroups == configured.unitGroups)

        let (model, store) = try UNet2DConditionModel.load(directory: source)
        let directory = Self.temporaryDirectory("sdxl-small-structure")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let key = "mid_block.attentions.0.transformer_blocks.1"
        try model.exportPruned(
            parameters: store, selection: UnitSelection(kept: ["\(key).attn1": [0, 2], "\(key).ff": Array(0..<10)]), to: directory)
        let (pruned, _) = try UNet2DConditionModel.load(directory: directory)
        #expect(pruned.widths == UnitWidths(["\(key).attn1": 2, "\(key).ff": 10]))
        let units = Dictionary(uniqueKeysWithValues: pruned.unitGroups.map { ($0.moduleKey, $0.unitCount) })
        #expect(units["\(key).attn1"] == 2 && units["\(key).attn2"] == 3 && units["\(key).ff"] == 10)
        #expect(throws: CheckpointError.self) { try UNet2DConditionModel.load(directory: directory, widths: .configuration) }
    }
}
