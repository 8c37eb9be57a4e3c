import Foundation
import PruneKit
import PruneTensor
import PruneTestSupport
import Testing

@testable import prunekit

/// `prunekit adapt-lora` on a pipeline pruned by `prunekit prune`.
@Suite struct AdaptLoRACommandTests {
    static func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-adapt-lora-\(UUID().uuidString)-\(name)").path
    }

    /// A kohya-style float16 LoRA (SGM names) on `sdxl-pipeline-tiny`'s second-level attention and FFN, plus a
    /// text-encoder module; `extra` adds more tensors.
    static func writeLoRA(_ path: String, extra: [String: Tensor] = [:]) throws {
        let weights = try SafetensorsFile.open(Fixtures.path("sdxl-pipeline-tiny/unet/diffusion_pytorch_model.safetensors"))
        var tensors = extra
        let modules = [
            ("input_blocks_4_1_transformer_blocks_0_attn1_to_q", "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q"),
            ("input_blocks_4_1_transformer_blocks_0_attn1_to_out_0", "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_out.0"),
            ("input_blocks_4_1_transformer_blocks_1_ff_net_0_proj", "down_blocks.1.attentions.0.transformer_blocks.1.ff.net.0.proj"),
            ("middle_block_1_transformer_blocks_0_ff_net_2", "mid_block.attentions.0.transformer_blocks.0.ff.net.2"),
        ]
        for (index, (kohya, module)) in modules.enumerated() {
            let shape = try #require(weights.info(module + ".weight")?.shape)
            tensors["lora_unet_\(kohya).lora_down.weight"] = Tensor.randomNormal([2, shape[1]], seed: UInt64(2 * index))
            tensors["lora_unet_\(kohya).lora_up.weight"] = Tensor.randomNormal([shape[0], 2], seed: UInt64(2 * index + 1))
            tensors["lora_unet_\(kohya).alpha"] = Tensor([1], shape: [])
        }
        tensors["lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight"] = Tensor.randomNormal([2, 32], seed: 99)
        tensors["lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight"] = Tensor.randomNormal([32, 2], seed: 98)
        try SafetensorsWriter.write(tensors, metadata: ["ss_network_dim": "2"], to: path, dtype: .float16)
    }

    @Test("prune a pipeline, then adapt-lora --pruned PIPELINE writes the sliced LoRA (kept units from prunekit.json); an existing output needs --overwrite")
    func adaptsToPrunedPipeline() throws {
        let pipeline = Self.temporaryPath("pipeline")
        let lora = Self.temporaryPath("lora.safetensors")
        let output = Self.temporaryPath("sliced.safetensors")
        defer { for path in [pipeline, lora, output] { try? FileManager.default.removeItem(atPath: path) } }
        try PruneCommandTests.run([
            "prune", "--model", Fixtures.path("sdxl-pipeline-tiny"), "--criterion", "magnitude", "--target", "0.5", "--out", pipeline,
        ])
        try Self.writeLoRA(lora)
        try PruneCommandTests.run(["adapt-lora", "--lora", lora, "--pruned", pipeline, "--output", output])

        let manifest = try ExportManifest.load(directory: pipeline + "/unet")
        let kept = try #require(manifest.modules.first { $0.key == "down_blocks.1.attentions.0.transformer_blocks.0.attn1" })
        let input = try SafetensorsFile.open(lora)
        let sliced = try SafetensorsFile.open(output)
        #expect(sliced.metadata["prunekit.output"] == "adapt-lora" && sliced.metadata["ss_network_dim"] == "2")
        #expect(Set(sliced.keys) == Set(input.keys))
        let headWidth = try #require(input.info("lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q.lora_up.weight")?.shape[0]) / kept.originalUnits
        #expect(sliced.info("lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q.lora_up.weight")?.shape == [kept.keptUnits * headWidth, 2])
        #expect(sliced.info("lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_out_0.lora_down.weight")?.shape == [2, kept.keptUnits * headWidth])
        for key in ["lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight", "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q.alpha"] {
            #expect(try sliced.storedTensor(key) == input.storedTensor(key))
        }
        #expect(sliced.info("lora_unet_middle_block_1_transformer_blocks_0_ff_net_2.lora_up.weight")?.dtype == .float16)

        let again = PruneCommandTests.failureMessage(["adapt-lora", "--lora", lora, "--pruned", pipeline, "--output", output])
        #expect(again?.contains("--overwrite") == true)
        try PruneCommandTests.run(["adapt-lora", "--lora", lora, "--pruned", pipeline, "--output", output, "--overwrite"])
    }

    @Test("adapt-lora with a key the model lacks, or an unpruned folder, exits non-zero with one error line and writes nothing")
    func refusesBadInputs() throws {
        let pruned = Self.temporaryPath("pruned")
        let lora = Self.temporaryPath("lora.safetensors")
        let output = Self.temporaryPath("sliced.safetensors")
        defer { for path in [pruned, lora, output] { try? FileManager.default.removeItem(atPath: path) } }
        try PruneCommandTests.run([
            "prune", "--model", Fixtures.path("sdxl-pipeline-tiny/unet"), "--criterion", "magnitude", "--target", "0.5", "--out", pruned,
        ])
        let bad = "lora_unet_input_blocks_4_1_transformer_blocks_0_attn9_to_q.lora_down.weight"
        try Self.writeLoRA(lora, extra: [bad: Tensor.zeros([2, 4]), bad.replacingOccurrences(of: "down", with: "up"): Tensor.zeros([4, 2])])

        var outcome = try CLIProcess.run(["adapt-lora", "--lora", lora, "--pruned", pruned, "--output", output])
        #expect(outcome.status != 0 && !outcome.signaled)
        #expect(outcome.errorLines.count == 1)
        #expect(outcome.errorLines.first?.contains(bad) == true)
        #expect(!FileManager.default.fileExists(atPath: output))

        try Self.writeLoRA(lora)
        outcome = try CLIProcess.run(["adapt-lora", "--lora", lora, "--pruned", Fixtures.path("sdxl-pipeline-tiny/unet"), "--output", output])
        #expect(outcome.status != 0 && outcome.errorLines.count == 1)
        #expect(outcome.errorLines.first?.contains("has no prunekit.json") == true)
        #expect(!FileManager.default.fileExists(atPath: output))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: FileManager.default.temporaryDirectory.path).filter {
            $0.hasPrefix("." + URL(fileURLWithPath: output).lastPathComponent)
        }
        #expect(leftovers.isEmpty)
    }
}
