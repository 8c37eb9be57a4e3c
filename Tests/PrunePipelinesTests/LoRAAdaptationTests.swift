import Foundation
import PruneFlux
import PruneKit
import PruneNN
import PrunePipelines
import PruneSDXL
import PruneTensor
import PruneTestSupport
import Testing

/// A LoRA sliced to a pruned export, merged into the pruned model, equals the pruned LoRA-merged original —
/// for SDXL and FLUX, in diffusers/PEFT and kohya names, in float32, float16 and bfloat16.
@Suite struct LoRAAdaptationTests {
    /// Slices `lora` for `fixture` and checks: every weight of `merge(pruned, sliced)` equals
    /// `prune(merge(original, lora))`, so does the forward output, the LoRA changes the output, untouched
    /// tensors are byte for byte the input's, every tensor keeps its dtype, and the metadata is kept.
    @discardableResult
    static func checkEquivalence(_ fixture: PrunedFixture, lora path: String) throws -> (result: LoRASlicing.Result, sliced: SafetensorsFile) {
        let result = try PrunedLoRA.adapt(lora: path, to: fixture.layout)
        let slicedPath = fixture.temporaryPath("sliced") + ".safetensors"
        try PrunedLoRA.write(result, layout: fixture.layout, to: slicedPath)
        defer { try? FileManager.default.removeItem(atPath: slicedPath) }
        let input = try SafetensorsFile.open(path)
        let sliced = try SafetensorsFile.open(slicedPath)
        #expect(result.report.slicedModules > 0)

        // Weights: prune(merge(original, LoRA)) == merge(pruned, sliced LoRA).
        let resolver = fixture.layout.resolver
        let expected = try fixture.layout.surgery.apply(to: LoRAMerge.merged(fixture.originalParameters, file: input, resolver: resolver))
        let pruned = try fixture.prunedParameters()
        let actual = try LoRAMerge.merged(pruned, file: sliced, resolver: resolver)
        #expect(Set(expected.keys) == Set(actual.keys))
        var changed = 0
        var worstWeight: Float = 0
        for key in expected.keys.sorted() {
            let want = expected[key]!
            let got = try #require(actual[key])
            #expect(got.shape == want.shape, "\(key)")
            guard got.shape == want.shape, want.count > 0 else { continue }
            let error = maximumRelativeError(got, want)
            #expect(error <= 1e-5, "\(key): \(error)")
            worstWeight = max(worstWeight, error)
            if maximumRelativeError(pruned[key]!.converted(to: .float32), want) > 1e-3 { changed += 1 }
        }
        #expect(changed > 0, "the LoRA changes some pruned weight")

        // The forward output.
        let reference = try fixture.forward(expected)
        let adapted = try fixture.forward(actual)
        let plain = try fixture.forward(pruned)
        let error = maximumRelativeError(adapted, reference)
        print("\(fixture.name) \(URL(fileURLWithPath: path).lastPathComponent): weights max|Δ|/max|ref| \(worstWeight), forward max|Δ|/max|ref| \(error), LoRA effect \(maximumRelativeError(plain, reference)), \(result.report)")
        #expect(error <= 1e-5)
        #expect(maximumRelativeError(plain, reference) > 1e-3, "the LoRA changes the pruned model's output")

        // Bytes, dtypes, metadata.
        let inventory = try LoRAInventory(file: input, resolver: resolver)
        for module in inventory.modules {
            let narrowed = module.target?.parts.contains(where: fixture.isNarrowed) ?? false
            for key in module.allKeys {
                let before = try input.storedTensor(key)
                let after = try sliced.storedTensor(key)
                #expect(after.dtype == before.dtype, "\(key)")
                if !narrowed { #expect(after == before, "\(key) is copied byte for byte") }
            }
        }
        #expect(Set(sliced.keys) == Set(input.keys))
        for (name, value) in input.metadata { #expect(sliced.metadata[name] == value) }
        #expect(sliced.metadata["prunekit.output"] == "adapt-lora")
        return (result, sliced)
    }

    /// A diffusers/PEFT LoRA on every SDXL transformer linear, `proj_in`/`proj_out`, a resnet convolution and
    /// the time embedding; `lora_B.bias` on the GEGLU projections; one block's `attn2` in diffusers' old
    /// attention-processor spelling; a text-encoder module.
    static func peftSDXL(_ fixture: PrunedFixture) -> TestLoRA {
        var lora = TestLoRA(seed: 11)
        let modules = fixture.layout.originalShapes.keys.filter { $0.hasSuffix(".weight") }.map { String($0.dropLast(7)) }.filter {
            ($0.contains("transformer_blocks") && fixture.weightShape($0).count == 2) || $0.hasSuffix(".proj_in") || $0.hasSuffix(".proj_out")
                || $0.hasSuffix("resnets.0.conv1") || $0 == "time_embedding.linear_1"
        }
        let oldSpelling = "down_blocks.1.attentions.0.transformer_blocks.0.attn2."
        for module in modules.sorted() {
            let shape = fixture.weightShape(module)
            if module.hasPrefix(oldSpelling) {
                let name = "unet." + oldSpelling + "processor." + module.dropFirst(oldSpelling.count).replacingOccurrences(of: "to_out.0", with: "to_out")
                lora.factors(down: name + "_lora.down.weight", up: name + "_lora.up.weight", out: shape[0], inShape: Array(shape.dropFirst()), rank: 4)
                continue
            }
            lora.factors(down: "unet.\(module).lora_A.weight", up: "unet.\(module).lora_B.weight", out: shape[0], inShape: Array(shape.dropFirst()), rank: 4)
            if module.hasSuffix("ff.net.0.proj") { lora.random("unet.\(module).lora_B.bias", [shape[0]]) }
        }
        let encoder = "text_encoder.text_model.encoder.layers.0.self_attn.q_proj"
        lora.factors(down: encoder + ".lora_A.weight", up: encoder + ".lora_B.weight", out: 32, inShape: [32], rank: 4)
        return lora
    }

    @Test("A diffusers/PEFT LoRA sliced to a magnitude-pruned SDXL U-Net merges to the pruned LoRA-merged original")
    func peftSDXLLoRA() throws {
        let fixture = try PrunedFixture("sdxl-small", architecture: SDXLArchitecture())
        let path = fixture.temporaryPath("peft-sdxl") + ".safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Self.peftSDXL(fixture).write(path, metadata: ["format": "pt", "lora_adapter_metadata": "{\"r\": 4}"])
        let (result, sliced) = try Self.checkEquivalence(fixture, lora: path)
        #expect(result.report.otherComponentModules == 1)

        // The emptied attention: B keeps no rows on q/k/v, A keeps no columns on to_out.0.
        let emptied = fixture.emptied[0]
        #expect(sliced.info("unet.\(emptied).to_q.lora_B.weight")?.shape == [0, 4])
        #expect(sliced.info("unet.\(emptied).to_out.0.lora_A.weight")?.shape == [4, 0])
        #expect(sliced.info("unet.\(emptied).to_out.0.lora_B.weight")?.shape == [fixture.weightShape(emptied + ".to_out.0")[0], 4])
    }

    /// kohya-ss's SDXL LoRA: SGM names, `alpha`, a LoCon convolution, DoRA `dora_scale` on the q/k/v projections
    /// (which lose only rows), text-encoder modules.
    static func kohyaSDXL(_ fixture: PrunedFixture) throws -> TestLoRA {
        var lora = TestLoRA(seed: 12)
        let modules = fixture.layout.originalShapes.keys.filter { $0.hasSuffix(".weight") }.map { String($0.dropLast(7)) }.filter {
            ($0.contains("transformer_blocks") && fixture.weightShape($0).count == 2) || $0 == "down_blocks.0.resnets.0.conv1"
        }
        for module in modules.sorted() {
            let shape = fixture.weightShape(module)
            let name = try #require(LoRANames.kohyaSDXL(module, layersPerBlock: 2))
            lora.factors(down: name + ".lora_down.weight", up: name + ".lora_up.weight", out: shape[0], inShape: Array(shape.dropFirst()), rank: 4)
            lora.scalar(name + ".alpha", 2)
            if module.hasSuffix(".to_q") || module.hasSuffix(".to_k") || module.hasSuffix(".to_v") {
                lora.random(name + ".dora_scale", [shape[0], 1], positive: true)
            }
        }
        for encoder in ["lora_te1_text_model_encoder_layers_0_self_attn_q_proj", "lora_te2_text_model_encoder_layers_1_mlp_fc1"] {
            lora.factors(down: encoder + ".lora_down.weight", up: encoder + ".lora_up.weight", out: 32, inShape: [32], rank: 4)
            lora.scalar(encoder + ".alpha", 4)
        }
        return lora
    }

    @Test("A kohya SDXL LoRA in SGM names (float16, alpha, LoCon, DoRA) sliced to a pruned U-Net merges to the pruned merged original")
    func kohyaSDXLLoRA() throws {
        let fixture = try PrunedFixture("sdxl-small", architecture: SDXLArchitecture(), target: 0.5)
        let path = fixture.temporaryPath("kohya-sdxl") + ".safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Self.kohyaSDXL(fixture).write(path, dtype: .float16, metadata: ["ss_network_dim": "4", "ss_network_alpha": "2"])
        let (result, sliced) = try Self.checkEquivalence(fixture, lora: path)
        #expect(result.report.otherComponentModules == 2)
        #expect(sliced.info("lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q.lora_up.weight")?.dtype == .float16)
    }

    /// A PEFT LoRA on every FLUX linear (`transformer.` names), `lora_B.bias` on the q projections and the
    /// double blocks' FFN input, a full `diff`/`diff_b` on one FFN output, a text-encoder module.
    static func peftFlux(_ fixture: PrunedFixture) -> TestLoRA {
        var lora = TestLoRA(seed: 13)
        let modules = fixture.layout.originalShapes.filter { $0.key.hasSuffix(".weight") && $0.value.count == 2 }.keys.map { String($0.dropLast(7)) }
        for module in modules.sorted() {
            let shape = fixture.weightShape(module)
            lora.factors(down: "transformer.\(module).lora_A.weight", up: "transformer.\(module).lora_B.weight", out: shape[0], inShape: [shape[1]], rank: 4)
            if module.hasSuffix("attn.to_q") || module.hasSuffix(".ff.net.0.proj") { lora.random("transformer.\(module).lora_B.bias", [shape[0]]) }
        }
        let output = "transformer_blocks.0.ff.net.2"
        lora.random("transformer.\(output).diff", fixture.weightShape(output))
        lora.random("transformer.\(output).diff_b", [fixture.weightShape(output)[0]])
        lora.factors(down: "text_encoder.text_model.encoder.layers.0.mlp.fc1.lora_A.weight", up: "text_encoder.text_model.encoder.layers.0.mlp.fc1.lora_B.weight", out: 16, inShape: [8], rank: 4)
        return lora
    }

    @Test("A PEFT LoRA (bfloat16) sliced to a magnitude-pruned FLUX transformer merges to the pruned LoRA-merged original")
    func peftFluxLoRA() throws {
        let fixture = try PrunedFixture("flux-small", architecture: FluxArchitecture())
        let path = fixture.temporaryPath("peft-flux") + ".safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Self.peftFlux(fixture).write(path, dtype: .bfloat16)
        let (_, sliced) = try Self.checkEquivalence(fixture, lora: path)
        #expect(sliced.info("transformer.single_transformer_blocks.0.proj_out.lora_A.weight")?.dtype == .bfloat16)
    }

    /// kohya-ss's FLUX LoRA in BFL names: fused `qkv` and `linear1`, `final_layer_adaLN_modulation_1` (halves
    /// exchanged), `alpha`, DoRA `dora_scale` on the fused image q/k/v, CLIP and T5 modules.
    static func kohyaFlux(_ fixture: PrunedFixture) -> TestLoRA {
        var lora = TestLoRA(seed: 14)
        for (name, parts, _) in LoRANames.kohyaFlux(doubleBlocks: 2, singleBlocks: 2) {
            let out = parts.reduce(0) { $0 + fixture.weightShape($1)[0] }
            lora.factors(down: name + ".lora_down.weight", up: name + ".lora_up.weight", out: out, inShape: [fixture.weightShape(parts[0])[1]], rank: 4)
            lora.scalar(name + ".alpha", 8)
            if name.hasSuffix("img_attn_qkv") { lora.random(name + ".dora_scale", [out, 1], positive: true) }
        }
        for encoder in ["lora_te1_text_model_encoder_layers_0_self_attn_q_proj", "lora_te3_encoder_block_0_layer_0_SelfAttention_q"] {
            lora.factors(down: encoder + ".lora_down.weight", up: encoder + ".lora_up.weight", out: 32, inShape: [32], rank: 4)
        }
        return lora
    }

    @Test("A kohya FLUX LoRA in BFL names (fused qkv and linear1, exchanged halves, DoRA) sliced to a pruned transformer merges to the pruned merged original")
    func kohyaFluxLoRA() throws {
        let fixture = try PrunedFixture("flux-small", architecture: FluxArchitecture(), target: 0.5)
        let path = fixture.temporaryPath("kohya-flux") + ".safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Self.kohyaFlux(fixture).write(path)
        let (result, sliced) = try Self.checkEquivalence(fixture, lora: path)
        #expect(result.report.otherComponentModules == 2)

        // Fused rows: B of linear1 keeps, block by block, the kept rows of to_q, to_k, to_v and proj_mlp.
        let rows = ["attn.to_q", "attn.to_k", "attn.to_v", "proj_mlp"].map { fixture.layout.surgery.prunedShape(of: "single_transformer_blocks.0.\($0).weight", original: fixture.weightShape("single_transformer_blocks.0.\($0)"))[0] }
        #expect(sliced.info("lora_unet_single_blocks_0_linear1.lora_up.weight")?.shape == [rows.reduce(0, +), 4])
        #expect(fixture.isNarrowed("single_transformer_blocks.0.attn.to_q") || fixture.isNarrowed("single_transformer_blocks.1.attn.to_q"))
    }

    @Test("ComfyUI's dotted BFL names (diffusion_model.…qkv.lora_A) slice like kohya's")
    func comfyDottedBFLNames() throws {
        let fixture = try PrunedFixture("flux-small", architecture: FluxArchitecture(), target: 0.5)
        var lora = TestLoRA(seed: 15)
        let inner = fixture.weightShape("transformer_blocks.0.attn.to_q")[1]
        for block in 0..<2 {
            lora.factors(
                down: "diffusion_model.double_blocks.\(block).img_attn.qkv.lora_A.weight", up: "diffusion_model.double_blocks.\(block).img_attn.qkv.lora_B.weight",
                out: 3 * fixture.weightShape("transformer_blocks.\(block).attn.to_q")[0], inShape: [inner], rank: 2)
            let mlp = "transformer_blocks.\(block).ff.net.2"
            lora.factors(
                down: "diffusion_model.double_blocks.\(block).img_mlp.2.lora_A.weight", up: "diffusion_model.double_blocks.\(block).img_mlp.2.lora_B.weight",
                out: fixture.weightShape(mlp)[0], inShape: [fixture.weightShape(mlp)[1]], rank: 2)
        }
        for block in 0..<2 {
            let parts = ["attn.to_q", "attn.to_k", "attn.to_v", "proj_mlp"].map { "single_transformer_blocks.\(block).\($0)" }
            lora.factors(
                down: "diffusion_model.single_blocks.\(block).linear1.lora_A.weight", up: "diffusion_model.single_blocks.\(block).linear1.lora_B.weight",
                out: parts.reduce(0) { $0 + fixture.weightShape($1)[0] }, inShape: [inner], rank: 2)
        }
        #expect((0..<2).contains { fixture.isNarrowed("single_transformer_blocks.\($0).attn.to_q") }, "a fused projection loses rows")
        let path = fixture.temporaryPath("comfy-flux") + ".safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try lora.write(path, dtype: .float16)
        try Self.checkEquivalence(fixture, lora: path)
    }

    @Test("A pruned pipeline folder (prunekit.json on top, the denoiser in unet/) is read through its denoiser")
    func pipelineFolder() throws {
        let fixture = try PrunedFixture("sdxl-small", architecture: SDXLArchitecture())
        let pipeline = fixture.temporaryPath("pipeline")
        defer { try? FileManager.default.removeItem(atPath: pipeline) }
        try FileManager.default.createDirectory(atPath: pipeline, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Fixtures.path("sdxl-pipeline-tiny/model_index.json"), toPath: pipeline + "/model_index.json")
        try FileManager.default.copyItem(atPath: fixture.directory, toPath: pipeline + "/unet")
        try FileManager.default.copyItem(atPath: fixture.directory + "/prunekit.json", toPath: pipeline + "/prunekit.json")
        let layout = try PrunedDenoiserLayout(path: pipeline)
        #expect(layout.directory == pipeline + "/unet")
        #expect(layout.surgery == fixture.layout.surgery)
    }
}
