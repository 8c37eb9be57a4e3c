import Foundation
import PruneKit
import PruneNN
import PruneTensor
import PruneTestSupport
import Testing

/// Whole DiT blocks removed through `prunekit` (a child process, as a user runs it): exports with fewer blocks that
/// `prunekit params` and `prunekit forward` reload through the plugin.
@Suite struct PluginBlockCLITests {
    static func prunekit(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try PluginTestSupport.run(try PluginTestSupport.builtProduct("prunekit"), arguments, environment: ["PRUNEKIT_PLUGIN_PATH": ""])
    }

    static var dit: String { get throws { try PluginTestSupport.builtProduct("libDiT.so") } }

    /// `prunekit params --json` of a DiT export: parameters and heads.
    static func params(_ directory: String) throws -> [String: Int] {
        let (status, output) = try prunekit(["params", "--plugin", try dit, "--model", directory, "--json"])
        #expect(status == 0, "\(output)")
        let line = try #require(output.split(separator: "\n").last(where: { $0.hasPrefix("{") }), "\(output)")
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Int])
    }

    /// The depth a DiT export's `config.json` states.
    static func depth(_ directory: String) throws -> Int? {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory).appendingPathComponent("config.json"))
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["depth"] as? Int
    }

    /// Runs `prunekit forward` on `directory` and returns its output next to the in-process masked forward of the
    /// `dit-test` model built from seed 0 (what `prune --preset dit-test --seed 0` pruned).
    static func forwardMatchesMasked(_ directory: String, masks: UnitMasks, temporary: URL) throws -> Float {
        let inputs = temporary.appendingPathComponent("inputs.safetensors").path
        let output = temporary.appendingPathComponent("output-\(UUID().uuidString).safetensors").path
        var labels = [Float](repeating: 0, count: 1001)
        labels[207] = 1
        let tensors = [
            "sample": Tensor.randomNormal([1, 4, 8, 8], seed: 11), "timestep": Tensor([400], shape: [1]), "class_labels": Tensor(labels, shape: [1, 1001]),
        ]
        try SafetensorsWriter.write(tensors, to: inputs)
        let (status, text) = try prunekit(["forward", "--plugin", try dit, "--model", directory, "--inputs", inputs, "--output", output])
        #expect(status == 0, "\(text)")
        let actual = try SafetensorsFile.open(output).tensor("output")
        let (model, _) = try ReferencePluginTests.ditModel(seed: 0)
        let masked = try withoutGradients { try model.forward(tensors, masks: masks) }
        return maximumRelativeError(actual, masked)
    }

    @Test("prune --masks with a mask.blocks entry exports a shorter DiT that params and forward reload, matching the masked model")
    func pruneWithBlockMasks() throws {
        let temporary = try PluginTestSupport.temporaryDirectory("dit-block-masks")
        defer { try? FileManager.default.removeItem(at: temporary) }
        let masksPath = temporary.appendingPathComponent("masks.safetensors").path
        let masks = UnitMasks(["blocks": Tensor([0, 1], shape: [2]), "blocks.1.attn": Tensor([1, 0, 1, 1], shape: [4])])
        try masks.write(to: masksPath)
        let out = temporary.appendingPathComponent("pruned").path
        let (status, output) = try Self.prunekit([
            "prune", "--plugin", try Self.dit, "--preset", "dit-test", "--seed", "0", "--masks", masksPath, "--out", out,
        ])
        #expect(status == 0, "\(output)")
        #expect(try Self.depth(out) == 1)
        let manifest = try ExportManifest.load(directory: out)
        #expect(manifest.formatVersion == 2 && manifest.modules.first { $0.key == "blocks" }?.kept == [1])
        let counted = try Self.params(out)
        #expect(counted["parameters"] == manifest.parameterCount && counted["heads"] == 3 && counted["ffn_neurons"] == 256)
        #expect(try Self.forwardMatchesMasked(out, masks: masks, temporary: temporary) < 1e-5)
        // params --masks counts the same model from the preset's shapes, the block included.
        let (status2, counting) = try Self.prunekit(["params", "--plugin", try Self.dit, "--preset", "dit-test", "--masks", masksPath])
        #expect(status2 == 0 && counting.contains("parameters   \(manifest.parameterCount) of \(manifest.source.parameterCount)"), "\(counting)")
        #expect(counting.contains("block        1 of 2"), "\(counting)")
    }

    @Test("prune --units blocks removes whole DiT blocks by a criterion; the export reloads through params and forward")
    func pruneBlocksByCriterion() throws {
        let temporary = try PluginTestSupport.temporaryDirectory("dit-units-blocks")
        defer { try? FileManager.default.removeItem(at: temporary) }
        let out = temporary.appendingPathComponent("magnitude").path
        var (status, output) = try Self.prunekit([
            "prune", "--plugin", try Self.dit, "--preset", "dit-test", "--seed", "0", "--criterion", "magnitude", "--units", "blocks",
            "--target", "0.5", "--target-kind", "units", "--out", out,
        ])
        #expect(status == 0, "\(output)")
        #expect(try Self.depth(out) == 1)
        let manifest = try ExportManifest.load(directory: out)
        let kept = try #require(manifest.modules.first { $0.key == "blocks" })
        #expect(kept.kind == .block && kept.kept.count == 1)
        let counted = try Self.params(out)
        #expect(counted["parameters"] == manifest.parameterCount && counted["heads"] == 4 && counted["ffn_neurons"] == 256)
        // The export's masks (every unit, the removed block's closed) on the original reproduce the export.
        let masks = try UnitMasks.load(path: out + "/masks.safetensors")
        #expect(masks["blocks"]?.scalars().reduce(0, +) == 1)
        #expect(try Self.forwardMatchesMasked(out, masks: masks, temporary: temporary) < 1e-5)

        // Gradient-flow scores blocks with heads and neurons (--units all).
        let flowOut = temporary.appendingPathComponent("flow").path
        (status, output) = try Self.prunekit([
            "prune", "--plugin", try Self.dit, "--plugin", try PluginTestSupport.builtProduct("libGradientFlow.so"), "--preset", "dit-test",
            "--criterion", "gradient-flow", "--plugin-option", "gradient-flow.iterations=2", "--units", "all", "--random-prompts", "1",
            "--target", "0.3", "--out", flowOut,
        ])
        #expect(status == 0, "\(output)")
        #expect(FileManager.default.fileExists(atPath: flowOut + "/config.json"))
        #expect(try Self.params(flowOut)["parameters"] == (try ExportManifest.load(directory: flowOut)).parameterCount)

        // FPGM cannot rank whole blocks: one error naming the list and its kind, nothing written.
        let fpgmOut = temporary.appendingPathComponent("fpgm").path
        (status, output) = try Self.prunekit([
            "prune", "--plugin", try Self.dit, "--plugin", try PluginTestSupport.builtProduct("libFPGM.so"), "--preset", "dit-test",
            "--criterion", "fpgm", "--units", "blocks", "--target", "0.5", "--out", fpgmOut,
        ])
        #expect(status != 0)
        #expect(output.contains("fpgm cannot score blocks: its 2 units are whole blocks (kind block)"), "\(output)")
        #expect(!FileManager.default.fileExists(atPath: fpgmOut))
    }
}
