import Foundation
import PruneKit
import PruneTestSupport
import Testing

@testable import prunekit

/// `prune --units blocks` and `--units all` on the FLUX and SDXL fixtures, end to end: plan, export, reload.
@Suite struct BlockUnitsCLITests {
    static func blockCounts(_ groups: [UnitGroup]) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: groups.filter(\.isBlockList).map { ($0.moduleKey, $0.unitCount) })
    }

    @Test(
        "prune --units blocks removes whole blocks only; the export records them, states its depth and reloads at the recorded size",
        arguments: ["flux-small", "sdxl-small"])
    func blocksOnly(fixture: String) throws {
        let model = Fixtures.path(fixture)
        let out = CLITests.temporaryPath("blocks-\(fixture)")
        defer { try? FileManager.default.removeItem(atPath: out) }
        try CLITests.run(["prune", "--model", model, "--units", "blocks", "--criterion", "magnitude", "--target", "0.3", "--out", out])

        let manifest = try ExportManifest.load(directory: out)
        #expect(manifest.formatVersion == 2)
        let lists = manifest.modules.filter { $0.kind == .block }
        #expect(lists.contains { $0.keptUnits < $0.originalUnits })
        // Heads and neurons are recorded whole, or at 0 inside a removed block.
        #expect(manifest.modules.filter { $0.kind != .block }.allSatisfy { $0.keptUnits == $0.originalUnits || $0.keptUnits == 0 })
        let source = try Architectures.loadModel(directory: model)
        let pruned = try Architectures.loadModel(directory: out)
        #expect(pruned.parameters.parameterCount == manifest.parameterCount)
        #expect(pruned.parameters.parameterCount < source.parameters.parameterCount)
        // Every head and neuron module of a kept block keeps its width: only depth changed.
        let sourceWidths = source.unitGroups.filter { !$0.isBlockList }.map(\.unitCount)
        #expect(Set(pruned.unitGroups.filter { !$0.isBlockList }.map(\.unitCount)).isSubset(of: Set(sourceWidths)))
        let before = Self.blockCounts(source.unitGroups)
        let after = Self.blockCounts(pruned.unitGroups)
        for module in lists {
            #expect(before[module.key] == module.originalUnits, "\(module.key)")
        }
        #expect(after.values.reduce(0, +) < before.values.reduce(0, +))
        if fixture.hasPrefix("flux") {
            let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/config.json"))) as! [String: Any]
            let kept = lists.reduce(into: [String: Int]()) { $0[$1.key] = $1.keptUnits }
            #expect(config["num_layers"] as? Int == kept["transformer_blocks"] ?? before["transformer_blocks"])
            #expect(config["num_single_layers"] as? Int == kept["single_transformer_blocks"] ?? before["single_transformer_blocks"])
        }
    }

    @Test("prune --units all plans blocks, heads and neurons together and the export reloads at the recorded size")
    func allKinds() throws {
        let model = Fixtures.path("flux-small")
        let out = CLITests.temporaryPath("all-flux")
        defer { try? FileManager.default.removeItem(atPath: out) }
        try CLITests.run(["prune", "--model", model, "--units", "all", "--criterion", "random", "--seed", "3", "--target", "0.5", "--out", out])
        let manifest = try ExportManifest.load(directory: out)
        let kinds = Set(manifest.modules.filter { $0.keptUnits < $0.originalUnits }.map(\.kind))
        #expect(kinds.contains(.block))
        #expect(kinds.contains(.attentionHead) || kinds.contains(.feedForwardNeuron))
        let pruned = try Architectures.loadModel(directory: out)
        #expect(pruned.parameters.parameterCount == manifest.parameterCount)
    }
}
