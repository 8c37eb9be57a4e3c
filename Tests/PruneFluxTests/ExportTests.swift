import Foundation
import PruneFlux
import PruneKit
import PruneNN
import PruneTensor
import PruneTestSupport
import Testing

/// A physically pruned, exported and reloaded FLUX transformer reproduces the masked model it was cut from.
@Suite struct ExportTests {
    /// The fixture masks binarised at 0.5, with the first single-block attention and the first `ff_context`
    /// removed entirely.
    static func selection(_ fixture: FluxFixture, groups: [UnitGroup]) throws -> UnitSelection {
        var selection = try UnitSelection(masks: fixture.masks(), groups: groups)
        selection.setKept([], for: "single_transformer_blocks.0.attn")
        selection.setKept([], for: "transformer_blocks.0.ff_context")
        return selection
    }

    @Test("The reloaded export matches the binary-masked model within 1e-5, with the expected size and structure", arguments: FluxFixture.all)
    func exportReproducesMaskedModel(fixture: FluxFixture) throws {
        let full = try fixture.loadModel()
        let groups = full.model.unitGroups
        let selection = try Self.selection(fixture, groups: groups)
        #expect(selection.removedUnitCount(in: groups) > 0)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-\(fixture.name)-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let manifest = try full.model.exportPruned(
            parameters: full.parameters, selection: selection, to: directory,
            provenance: PruningProvenance(criterion: "fixture-masks", target: 0.5, seed: 0, sourceDirectory: fixture.directory))
        let pruned = try FluxModelLoader.load(directory: directory, widths: .inferredFromWeights)

        let inputs = try fixture.inputs()
        let masks = selection.binaryMasks(for: groups)
        let (masked, reloaded) = withoutGradients { (inputs.run(full.model, masks: masks), inputs.run(pruned.model)) }
        print("[\(fixture.name)] export: reloaded vs masked \(errorSummary(reloaded, masked)), parameters \(full.parameters.parameterCount) → \(pruned.parameters.parameterCount)")
        #expect(maximumRelativeError(reloaded, masked) <= 1e-5)
        let unmasked = withoutGradients { inputs.run(full.model) }
        #expect(maximumRelativeError(masked, unmasked) > 1e-3, "the masks must change the output")

        let shapes = full.parameters.parameters.mapValues(\.shape)
        let removed = selection.removedParameterCount(in: groups) { shapes[$0] }
        #expect(pruned.parameters.parameterCount == full.parameters.parameterCount - removed)
        #expect(manifest.parameterCount == pruned.parameters.parameterCount && manifest.removedParameterCount == removed)
        #expect(FluxTransformer2DModel.layout(configuration: pruned.configuration, widths: pruned.widths).parameterCount == pruned.parameters.parameterCount)

        let surgery = try ParameterSurgery(groups: groups, selection: selection) { shapes[$0] }
        #expect(pruned.model.unitGroups == surgery.prunedGroups)
        // The block lists, all kept, are not recorded (format version 1).
        let recorded = groups.filter { !$0.isBlockList }
        #expect(manifest.formatVersion == 1)
        #expect(pruned.model.unitGroups.filter { !$0.isBlockList }.map(\.unitCount) == recorded.map { selection.keptUnits(of: $0).count })
        #expect(pruned.widths["single_transformer_blocks.0.attn"] == 0)
        #expect(pruned.widths["transformer_blocks.0.ff_context"] == 0)

        let reread = try ExportManifest.load(directory: directory)
        #expect(reread == manifest)
        #expect(reread.architecture == "FluxTransformer2DModel")
        #expect(reread.modules.map(\.keptUnits) == pruned.model.unitGroups.filter { !$0.isBlockList }.map(\.unitCount))
        let digest = try SHA256Hasher.digest(ofFile: fixture.directory + "/diffusion_pytorch_model.safetensors")
        #expect(reread.source.files.map(\.sha256) == [digest.hex])
        let written = try UnitMasks.load(path: directory + "/masks.safetensors")
        for group in recorded { #expect(written[group.moduleKey]?.scalars() == masks[group.moduleKey]?.scalars()) }
    }

    @Test("A model built in memory exports its encoded configuration and reloads")
    func inMemoryModelExports() throws {
        let configuration = FluxConfiguration(
            inChannels: 8, doubleBlockCount: 1, singleBlockCount: 1, headDimension: 4, headCount: 2,
            jointAttentionDimension: 6, pooledProjectionDimension: 5, ropeAxesDimensions: [2, 2])
        let full = FluxModelLoader.random(configuration: configuration, seed: 5)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-flux-random-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let manifest = try full.model.exportPruned(
            parameters: full.parameters, selection: UnitSelection(kept: ["transformer_blocks.0.attn": [1], "single_transformer_blocks.0.mlp": [0, 3]]),
            to: directory)
        #expect(manifest.source.files.isEmpty && manifest.source.name == nil)
        let pruned = try FluxModelLoader.load(directory: directory, widths: .inferredFromWeights)
        #expect(pruned.configuration == configuration)
        #expect(pruned.widths == UnitWidths(["transformer_blocks.0.attn": 1, "single_transformer_blocks.0.mlp": 2]))
    }
}
