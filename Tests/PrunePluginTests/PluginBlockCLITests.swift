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
    }
}
