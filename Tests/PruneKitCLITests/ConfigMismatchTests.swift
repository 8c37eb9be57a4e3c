import Foundation
import PruneTestSupport
import Testing

@testable import prunekit

/// A model directory whose `config.json` disagrees with its weights (or holds an impossible value) is refused
/// with an error that names the checkpoint key or config key and both shapes — never loaded, never a crash.
@Suite struct ConfigMismatchTests {
    /// One edit of a fixture's `config.json` and what the error must say.
    struct ConfigEdit: Sendable, CustomTestStringConvertible {
        /// The fixture directory under Tests/Fixtures.
        var fixture: String
        /// The config key and its new value, as JSON text.
        var key: String
        var value: String
        /// Substrings the one error message must contain.
        var expected: [String]

        var testDescription: String { "\(fixture): \(key) = \(value)" }
    }

    /// Copies `fixture` into a temporary directory with `key` set to `value` (JSON) in its config.json.
    static func editedCopy(of fixture: String, key: String, value: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-config-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for name in ["config.json", "diffusion_pytorch_model.safetensors"] {
            try FileManager.default.copyItem(atPath: Fixtures.path("\(fixture)/\(name)"), toPath: directory + "/" + name)
        }
        let configPath = directory + "/config.json"
        var config = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))) as? [String: Any])
        config[key] = try JSONSerialization.jsonObject(with: Data(value.utf8), options: .fragmentsAllowed)
        try JSONSerialization.data(withJSONObject: config, options: .sortedKeys).write(to: URL(fileURLWithPath: configPath))
        return directory
    }

    /// Configs that parse and are self-consistent but describe other weights than the file holds.
    static let mismatches: [ConfigEdit] = [
        ConfigEdit(
            fixture: "sdxl-small", key: "cross_attention_dim", value: "48",
            expected: [
                "34 mis-shaped",
                "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight: expected shape [16, 48], found [16, 32]",
            ]),
        ConfigEdit(
            fixture: "sdxl-small", key: "layers_per_block", value: "3",
            expected: ["missing down_blocks.0.resnets.2.conv1.weight (expected shape [8, 8, 3, 3])"]),
        ConfigEdit(
            fixture: "sdxl-small", key: "transformer_layers_per_block", value: "[1, 1, 3]",
            expected: ["120 missing", "missing down_blocks.2.attentions.0.transformer_blocks.2.attn1.to_q.weight (expected shape [24, 24])"]),
        ConfigEdit(
            fixture: "sdxl-small", key: "in_channels", value: "8",
            expected: ["1 mis-shaped", "conv_in.weight: expected shape [8, 8, 3, 3], found [8, 4, 3, 3]"]),
        ConfigEdit(
            fixture: "flux-small", key: "joint_attention_dim", value: "48",
            expected: ["1 mis-shaped", "context_embedder.weight: expected shape [64, 48], found [64, 32]"]),
        ConfigEdit(
            fixture: "flux-small", key: "pooled_projection_dim", value: "32",
            expected: ["time_text_embed.text_embedder.linear_1.weight: expected shape [64, 32], found [64, 24]"]),
        ConfigEdit(
            fixture: "flux-small", key: "num_layers", value: "3",
            expected: ["32 missing", "missing transformer_blocks.2.attn.to_q.weight (expected shape [64, 64])"]),
        ConfigEdit(
            fixture: "flux-small", key: "num_layers", value: "1",
            expected: ["32 unexpected", "unexpected transformer_blocks.1.attn.to_q.weight (shape [64, 64])"]),
        ConfigEdit(
            fixture: "flux-small", key: "guidance_embeds", value: "false",
            expected: ["4 unexpected", "unexpected time_text_embed.guidance_embedder.linear_1.weight (shape [64, 256])"]),
        ConfigEdit(
            fixture: "flux-small", key: "num_attention_heads", value: "3",
            expected: ["75 mis-shaped", "context_embedder.weight: expected shape [48, 32], found [64, 32]"]),
    ]

    @Test("a config that describes other weights names every mismatched key with both shapes", arguments: mismatches)
    func mismatchedWeights(_ edit: ConfigEdit) throws {
        let directory = try Self.editedCopy(of: edit.fixture, key: edit.key, value: edit.value)
        let output = directory + "-out.safetensors"
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: output)
        }
        for arguments in [
            ["params", "--model", directory],
            ["forward", "--model", directory, "--inputs", Fixtures.path("\(edit.fixture)/inputs.safetensors"), "--output", output],
        ] {
            let message = try #require(PruneCommandTests.failureMessage(arguments), "\(arguments[0]) accepted \(edit)")
            for fragment in edit.expected { #expect(message.contains(fragment), "\(arguments[0]): \(message)") }
        }
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    /// Configs whose values are impossible on their own; each must be an error naming the key.
    static let invalidValues: [ConfigEdit] = [
        ConfigEdit(
            fixture: "sdxl-small", key: "attention_head_dim", value: "[1, 2, 5]",
            expected: ["attention_head_dim", "5 heads do not divide 24 channels"]),
        ConfigEdit(
            fixture: "sdxl-small", key: "attention_head_dim", value: "[1, 2]",
            expected: ["attention_head_dim has 2 entries, expected one per block (3)"]),
        ConfigEdit(
            fixture: "flux-small", key: "num_attention_heads", value: "0",
            expected: ["num_attention_heads = 0", "must be positive"]),
        ConfigEdit(
            fixture: "flux-small", key: "num_layers", value: "-1", expected: ["num_layers = -1", "must not be negative"]),
        ConfigEdit(
            fixture: "flux-small", key: "axes_dims_rope", value: "[4, 6, 7]",
            expected: ["axes_dims_rope = [4, 6, 7]", "positive and even"]),
        ConfigEdit(
            fixture: "flux-small", key: "num_layers", value: "\"two\"",
            expected: ["cannot read FLUX configuration", "num_layers: expected Int"]),
        ConfigEdit(
            fixture: "sdxl-small", key: "block_out_channels", value: "[8, 16, -24]", expected: ["block_out_channels"]),
        ConfigEdit(
            fixture: "sdxl-small", key: "transformer_layers_per_block", value: "[1, 1, -1]",
            expected: ["transformer_layers_per_block"]),
        ConfigEdit(
            fixture: "sdxl-small", key: "norm_num_groups", value: "0", expected: ["norm_num_groups"]),
        ConfigEdit(
            fixture: "sdxl-small", key: "cross_attention_dim", value: "-1", expected: ["cross_attention_dim"]),
    ]

    /// Runs in a child process: a config that traps would otherwise take the test runner down with it.
    @Test("an impossible config value is an error naming the key, not a crash", arguments: invalidValues)
    func invalidValue(_ edit: ConfigEdit) throws {
        try #require(FileManager.default.isExecutableFile(atPath: CLIProcess.executable), "prunekit not built")
        let directory = try Self.editedCopy(of: edit.fixture, key: edit.key, value: edit.value)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outcome = try CLIProcess.run(["params", "--model", directory])
        let crashed = outcome.signaled
        let firstLine = outcome.standardError.split(separator: "\n").first.map(String.init) ?? ""
        let check = {
            #expect(!crashed, "prunekit crashed: \(firstLine)")
            #expect(outcome.status != 0)
            let line = outcome.errorLines.first ?? ""
            for fragment in edit.expected { #expect(line.contains(fragment), "\(line)") }
        }
        check()
    }
}
