import Foundation
import PruneFlux
import PruneKit
import PruneNN
import PruneTensor
import PruneTestSupport
import Testing

/// Whole FLUX blocks as units: `transformer_blocks` and `single_transformer_blocks` are block lists, masked inline,
/// removed by surgery and exported with the new `num_layers` / `num_single_layers`.
@Suite struct FluxBlockUnitTests {
    static let fixture = FluxFixture(name: "flux-small")

    static func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-flux-blocks-\(UUID().uuidString)").path
    }

    @Test("both block lists are groups placed before their blocks' heads and neurons, owning every tensor of a block")
    func blockListGroups() throws {
        let full = try Self.fixture.loadModel()
        let groups = full.model.unitGroups
        let keys = groups.map(\.moduleKey)
        #expect(keys.first == "transformer_blocks" && keys[1] == "transformer_blocks.0.attn")
        let single = try #require(keys.firstIndex(of: "single_transformer_blocks"))
        #expect(keys[single + 1] == "single_transformer_blocks.0.attn" && keys[single - 1].hasPrefix("transformer_blocks.1."))
        for list in groups.filter(\.isBlockList) {
            #expect(list.unitCount == 2)
            for unit in 0..<list.unitCount {
                let prefix = list.blockPrefix(ofUnit: unit)
                #expect(list.wholeTensors[unit] == full.parameters.parameters.keys.filter { $0.hasPrefix(prefix) }.sorted())
            }
        }
        // The layout of a preset agrees with the loaded model's groups.
        let layout = try FluxArchitecture().layout(preset: "flux-bench")
        #expect(layout.groups.filter(\.isBlockList).map(\.unitCount) == [4, 8])
    }

    @Test("a block mask of 0 skips the block in both streams; of 1 it changes nothing")
    func blockMaskSkipsTheBlock() throws {
        let full = try Self.fixture.loadModel()
        let inputs = try Self.fixture.inputs()
        let unmasked = withoutGradients { inputs.run(full.model) }
        let ones = withoutGradients {
            inputs.run(full.model, masks: UnitMasks(["transformer_blocks": Tensor.ones([2]), "single_transformer_blocks": Tensor.ones([2])]))
        }
        #expect(maximumRelativeError(ones, unmasked) < 1e-6)
        let masked = withoutGradients { inputs.run(full.model, masks: UnitMasks(["transformer_blocks": Tensor([0, 1], shape: [2])])) }
        #expect(maximumRelativeError(masked, unmasked) > 1e-3)
        // The same model without double block 0, built by hand from the renamed tensors.
        var parameters: [String: Tensor] = [:]
        for (key, tensor) in full.parameters.parameters where !key.hasPrefix("transformer_blocks.0.") {
            parameters[key.hasPrefix("transformer_blocks.1.") ? "transformer_blocks.0." + key.dropFirst("transformer_blocks.1.".count) : key] = tensor
        }
        var configuration = full.configuration
        configuration.doubleBlockCount = 1
        let shorter = try FluxModelLoader.load(
            configuration: configuration, source: DictionaryTensorSource(parameters), sourceName: "memory")
        let expected = withoutGradients { inputs.run(shorter.model) }
        #expect(maximumRelativeError(masked, expected) < 1e-5)
    }

    @Test("a block-pruned export says the new depth, keeps the other config keys, and reloads to the masked model", arguments: [false, true])
    func blockExportReloads(joint: Bool) throws {
        let full = try Self.fixture.loadModel()
        let groups = full.model.unitGroups
        var selection = joint ? try UnitSelection(masks: Self.fixture.masks(), groups: groups) : UnitSelection()
        selection.setKept([1], for: "transformer_blocks")
        selection.setKept([0], for: "single_transformer_blocks")
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let manifest = try FluxPrunableModel(transformer: full.model, parameters: full.parameters).exportPruned(
            selection: selection, to: directory, provenance: PruningProvenance(criterion: "test", sourceDirectory: Self.fixture.directory))
        #expect(manifest.formatVersion == 2)

        let source = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.fixture.directory + "/config.json"))) as! [String: Any]
        let written = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/config.json"))) as! [String: Any]
        #expect(written["num_layers"] as? Int == 1 && written["num_single_layers"] as? Int == 1)
        #expect(Set(written.keys) == Set(source.keys))
        for key in source.keys where key != "num_layers" && key != "num_single_layers" {
            #expect("\(written[key]!)" == "\(source[key]!)", "config key \(key)")
        }

        let pruned = try FluxModelLoader.load(directory: directory, widths: .inferredFromWeights)
        #expect(pruned.configuration.doubleBlockCount == 1 && pruned.configuration.singleBlockCount == 1)
        #expect(pruned.parameters.parameterCount == manifest.parameterCount)
        #expect(manifest.parameterCount == (try PrunedAccounting(layout: FluxPrunableModel(transformer: full.model, parameters: full.parameters).layout, selection: selection)).parameters)
        let inputs = try Self.fixture.inputs()
        let masks = selection.binaryMasks(for: groups)
        let (masked, reloaded) = withoutGradients { (inputs.run(full.model, masks: masks), inputs.run(pruned.model)) }
        print("[flux-small blocks\(joint ? " + heads/neurons" : "")] reloaded vs masked \(errorSummary(reloaded, masked)), parameters \(full.parameters.parameterCount) → \(pruned.parameters.parameterCount)")
        #expect(maximumRelativeError(reloaded, masked) <= 1e-5)
        #expect(maximumRelativeError(masked, withoutGradients { inputs.run(full.model) }) > 1e-3)
        // The kept double block is old block 1, renumbered 0, with its (possibly pruned) widths.
        let keptHeads = selection.keptUnits(of: groups.first { $0.moduleKey == "transformer_blocks.1.attn" }!).count
        #expect(pruned.widths["transformer_blocks.0.attn"] ?? pruned.configuration.headCount == keptHeads)
    }

    @Test("an export that removes no block keeps config.json byte for byte")
    func noBlockRemovedKeepsTheConfiguration() throws {
        let full = try Self.fixture.loadModel()
        let data = try full.model.prunedConfigurationJSON(
            sourceDirectory: Self.fixture.directory, selection: UnitSelection(kept: ["transformer_blocks": [0, 1], "transformer_blocks.0.attn": [0]]))
        #expect(data == (try Data(contentsOf: URL(fileURLWithPath: Self.fixture.directory + "/config.json"))))
    }
}
