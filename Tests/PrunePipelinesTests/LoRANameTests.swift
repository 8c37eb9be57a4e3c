import Foundation
import PruneFlux
import PruneKit
import PruneNN
import PrunePipelines
import PruneSDXL
import PruneTensor
import PruneTestSupport
import Testing

/// LoRA key names and the merge, checked against names and sums written out by hand.
@Suite struct LoRANameTests {
    static func sdxlResolver() throws -> LoRANameResolver {
        let configuration = try UNetConfiguration.load(contentsOf: Fixtures.path("sdxl-small/config.json"))
        return .sdxl(configuration: configuration, parameterKeys: try UNet2DConditionModel.layout(of: configuration).shapes.keys)
    }

    static func fluxResolver() throws -> (LoRANameResolver, FluxConfiguration, ModelLayout) {
        let configuration = try FluxConfiguration.load(path: Fixtures.path("flux-small/config.json"))
        let layout = FluxTransformer2DModel.layout(configuration: configuration)
        return (.flux(configuration: configuration, parameterKeys: layout.shapes.keys), configuration, layout)
    }

    @Test("Keys split into module and role for PEFT, kohya, old diffusers, DoRA, LoHa and unknown suffixes")
    func keyRoles() {
        let cases: [(String, String, LoRARole)] = [
            ("unet.down_blocks.1.attentions.0.proj_in.lora_A.weight", "unet.down_blocks.1.attentions.0.proj_in", .down),
            ("transformer.x_embedder.lora_B.weight", "transformer.x_embedder", .up),
            ("transformer.x_embedder.lora_B.bias", "transformer.x_embedder", .upBias),
            ("base_model.model.x_embedder.lora_A.default.weight", "base_model.model.x_embedder", .down),
            ("lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight", "lora_unet_double_blocks_0_img_attn_qkv", .down),
            ("lora_unet_double_blocks_0_img_attn_qkv.lora_up.weight", "lora_unet_double_blocks_0_img_attn_qkv", .up),
            ("lora_unet_double_blocks_0_img_attn_qkv.alpha", "lora_unet_double_blocks_0_img_attn_qkv", .alpha),
            ("unet.mid_block.attentions.0.transformer_blocks.0.attn1.processor.to_out_lora.up.weight",
             "unet.mid_block.attentions.0.transformer_blocks.0.attn1.processor.to_out", .up),
            ("unet.a.to_k.lora.down.weight", "unet.a.to_k", .down),
            ("unet.a.to_k.lora_linear_layer.up.weight", "unet.a.to_k", .up),
            ("unet.a.to_k.lora_magnitude_vector", "unet.a.to_k", .magnitude),
            ("unet.a.to_k.lora_magnitude_vector.weight", "unet.a.to_k", .magnitude),
            ("lora_unet_a.dora_scale", "lora_unet_a", .magnitude),
            ("lora_unet_a.lora_mid.weight", "lora_unet_a", .mid),
            ("lora_unet_a.diff", "lora_unet_a", .diff),
            ("lora_unet_a.diff_b", "lora_unet_a", .diffBias),
            ("lora_unet_a.hada_w1_a", "lora_unet_a", .otherAlgorithm("LoHa")),
            ("lora_unet_a.lokr_w2", "lora_unet_a", .otherAlgorithm("LoKr")),
        ]
        for (key, module, role) in cases {
            let parsed = LoRAKey.parse(key)
            #expect(parsed?.module == module, "\(key)")
            #expect(parsed?.role == role, "\(key)")
        }
        #expect(LoRAKey.parse("unet.down_blocks.1.attentions.0.proj_in.weight") == nil)
        #expect(LoRAKey.parse(".alpha") == nil)
    }

    @Test("SDXL names: kohya SGM (input/middle/output blocks, resnets, embeddings), diffusers underscored and dotted, old processors, text encoders")
    func sdxlNames() throws {
        let resolver = try Self.sdxlResolver()
        // sdxl-small: 3 levels, 2 layers per block; down: plain, cross-attention, cross-attention; up: the reverse.
        let cases: [(String, String)] = [
            ("lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q", "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q"),
            ("lora_unet_input_blocks_8_1_transformer_blocks_1_ff_net_0_proj", "down_blocks.2.attentions.1.transformer_blocks.1.ff.net.0.proj"),
            ("lora_unet_middle_block_1_transformer_blocks_1_attn2_to_out_0", "mid_block.attentions.0.transformer_blocks.1.attn2.to_out.0"),
            ("lora_unet_output_blocks_2_1_transformer_blocks_0_ff_net_2", "up_blocks.0.attentions.2.transformer_blocks.0.ff.net.2"),
            ("lora_unet_output_blocks_5_1_proj_in", "up_blocks.1.attentions.2.proj_in"),
            ("lora_unet_output_blocks_2_2_conv", "up_blocks.0.upsamplers.0.conv"),
            ("lora_unet_input_blocks_1_0_in_layers_2", "down_blocks.0.resnets.0.conv1"),
            ("lora_unet_input_blocks_1_0_emb_layers_1", "down_blocks.0.resnets.0.time_emb_proj"),
            ("lora_unet_input_blocks_3_0_op", "down_blocks.0.downsamplers.0.conv"),
            ("lora_unet_time_embed_0", "time_embedding.linear_1"),
            ("lora_unet_label_emb_0_0", "add_embedding.linear_1"),
            ("lora_unet_out_2", "conv_out"),
            ("lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q", "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q"),
            ("unet.mid_block.attentions.0.transformer_blocks.0.attn1.processor.to_out", "mid_block.attentions.0.transformer_blocks.0.attn1.to_out.0"),
            ("base_model.model.down_blocks.1.attentions.0.proj_out", "down_blocks.1.attentions.0.proj_out"),
            ("diffusion_model.input_blocks.4.1.proj_in", "down_blocks.1.attentions.0.proj_in"),
            ("down_blocks.2.attentions.0.transformer_blocks.0.attn2.to_k", "down_blocks.2.attentions.0.transformer_blocks.0.attn2.to_k"),
        ]
        for (name, module) in cases { #expect(resolver.resolve(name) == .denoiser(.module(module)), "\(name)") }
        #expect(resolver.resolve("lora_te2_text_model_encoder_layers_0_mlp_fc1") == .otherComponent("text encoder (lora_te2)"))
        #expect(resolver.resolve("text_encoder.text_model.encoder.layers.0.self_attn.q_proj") == .otherComponent("text_encoder"))
        #expect(resolver.resolve("lora_unet_input_blocks_4_1_transformer_blocks_0_attn3_to_q") == .unknown)
        #expect(resolver.resolve("lora_unet_input_blocks_40_1_transformer_blocks_0_attn1_to_q") == .unknown)
        #expect(resolver.resolve("unet.down_blocks.9.attentions.0.proj_in") == .unknown)
        #expect(resolver.suggestions(for: "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn3_to_q").first?.hasPrefix("down_blocks.1.attentions.0.transformer_blocks.0.attn") == true)
    }

    @Test("Every U-Net weight of the SDXL single-file fixture (SGM names diffusers' from_single_file reads) resolves, as kohya writes it, to the folder weight with the same values")
    func kohyaNamesOfRealSGMKeys() throws {
        let configuration = try UNetConfiguration.load(contentsOf: Fixtures.path("sdxl-pipeline-tiny/unet/config.json"))
        let folder = try SafetensorsFile.open(Fixtures.path("sdxl-pipeline-tiny/unet/diffusion_pytorch_model.safetensors"))
        let resolver = LoRANameResolver.sdxl(configuration: configuration, parameterKeys: folder.keys)
        let single = try SafetensorsFile.open(Fixtures.path("sdxl-pipeline-tiny.safetensors"))
        let prefix = "model.diffusion_model."
        var checked = 0
        for key in single.keys where key.hasPrefix(prefix) && key.hasSuffix(".weight") && single.info(key)!.shape.count >= 2 {
            let sgm = String(key.dropFirst(prefix.count).dropLast(".weight".count))
            let name = "lora_unet_" + sgm.replacingOccurrences(of: ".", with: "_")
            guard case .denoiser(let target) = resolver.resolve(name), target.parts.count == 1 else {
                Issue.record("\(name) does not resolve to one module")
                continue
            }
            let original = try single.tensor(key)
            let weight = try folder.tensor(target.parts[0] + ".weight")
            #expect(weight.shape == original.shape, "\(name) → \(target)")
            guard weight.shape == original.shape else { continue }
            #expect(maximumRelativeError(weight.converted(to: .float16).converted(to: .float32), original) == 0, "\(name) → \(target)")
            #expect(resolver.resolve("diffusion_model." + sgm) == .denoiser(target))
            checked += 1
        }
        #expect(checked > 50)
    }

    @Test("FLUX names: kohya BFL (fused qkv, linear1, exchanged final halves), ComfyUI dotted BFL, diffusers underscored and dotted")
    func fluxNames() throws {
        let (resolver, _, _) = try Self.fluxResolver()
        let single = "single_transformer_blocks.1"
        let cases: [(String, LoRATarget)] = [
            ("lora_unet_double_blocks_1_img_attn_qkv", LoRATarget(parts: ["transformer_blocks.1.attn.to_q", "transformer_blocks.1.attn.to_k", "transformer_blocks.1.attn.to_v"])),
            ("lora_unet_double_blocks_0_txt_attn_qkv", LoRATarget(parts: ["transformer_blocks.0.attn.add_q_proj", "transformer_blocks.0.attn.add_k_proj", "transformer_blocks.0.attn.add_v_proj"])),
            ("lora_unet_double_blocks_0_txt_attn_proj", .module("transformer_blocks.0.attn.to_add_out")),
            ("lora_unet_double_blocks_1_img_mlp_2", .module("transformer_blocks.1.ff.net.2")),
            ("lora_unet_double_blocks_0_txt_mod_lin", .module("transformer_blocks.0.norm1_context.linear")),
            ("lora_unet_single_blocks_1_linear1", LoRATarget(parts: ["\(single).attn.to_q", "\(single).attn.to_k", "\(single).attn.to_v", "\(single).proj_mlp"])),
            ("lora_unet_single_blocks_0_linear2", .module("single_transformer_blocks.0.proj_out")),
            ("lora_unet_final_layer_adaLN_modulation_1", LoRATarget(parts: ["norm_out.linear"], swapsHalves: true)),
            ("lora_unet_final_layer_linear", .module("proj_out")),
            ("lora_unet_img_in", .module("x_embedder")),
            ("diffusion_model.double_blocks.0.img_attn.qkv", LoRATarget(parts: ["transformer_blocks.0.attn.to_q", "transformer_blocks.0.attn.to_k", "transformer_blocks.0.attn.to_v"])),
            ("lora_transformer_single_transformer_blocks_0_attn_to_q", .module("single_transformer_blocks.0.attn.to_q")),
            ("transformer.transformer_blocks.0.ff_context.net.2", .module("transformer_blocks.0.ff_context.net.2")),
            ("single_transformer_blocks.1.proj_mlp", .module("single_transformer_blocks.1.proj_mlp")),
        ]
        for (name, target) in cases { #expect(resolver.resolve(name) == .denoiser(target), "\(name)") }
        #expect(resolver.resolve("lora_unet_double_blocks_2_img_attn_qkv") == .unknown)
        #expect(resolver.resolve("lora_te3_encoder_block_0_layer_0_SelfAttention_q") == .otherComponent("text encoder (lora_te3)"))
    }

    @Test("The merge adds (alpha/r)·B·A, spreads fused rows over q/k/v, exchanges halves back and applies DoRA row norms, as computed by hand")
    func mergeByHand() throws {
        let (resolver, configuration, layout) = try Self.fluxResolver()
        var parameters: [String: Tensor] = [:]
        for (index, parameter) in layout.shapes.sorted(by: { $0.key < $1.key }).enumerated() {
            parameters[parameter.key] = Tensor.randomNormal(parameter.value, seed: UInt64(index))
        }
        let inner = configuration.innerDimension
        var lora = TestLoRA(seed: 21)
        lora.factors(down: "lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight", up: "lora_unet_double_blocks_0_img_attn_qkv.lora_up.weight", out: 3 * inner, inShape: [inner], rank: 4)
        lora.scalar("lora_unet_double_blocks_0_img_attn_qkv.alpha", 2)
        let normOut = parameters["norm_out.linear.weight"]!.shape
        lora.factors(down: "lora_unet_final_layer_adaLN_modulation_1.lora_down.weight", up: "lora_unet_final_layer_adaLN_modulation_1.lora_up.weight", out: normOut[0], inShape: [normOut[1]], rank: 2)
        let mlp = parameters["transformer_blocks.1.ff.net.0.proj.weight"]!.shape
        lora.factors(down: "transformer.transformer_blocks.1.ff.net.0.proj.lora_A.weight", up: "transformer.transformer_blocks.1.ff.net.0.proj.lora_B.weight", out: mlp[0], inShape: [mlp[1]], rank: 3)
        lora.random("transformer.transformer_blocks.1.ff.net.0.proj.lora_magnitude_vector", [mlp[0]], positive: true)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-lora-hand-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try lora.write(path)
        let merged = try LoRAMerge.merged(parameters, file: try SafetensorsFile.open(path), resolver: resolver)

        /// `scale·B·A` as `[rows][columns]`.
        func update(_ down: String, _ up: String, scale: Float) -> [[Float]] {
            let a = lora.tensors[down]!, b = lora.tensors[up]!
            let (rank, columns, rows) = (a.shape[0], a.shape[1], b.shape[0])
            let av = a.scalars(), bv = b.scalars()
            return (0..<rows).map { r in (0..<columns).map { c in scale * (0..<rank).reduce(Float(0)) { $0 + bv[r * rank + $1] * av[$1 * columns + c] } } }
        }
        func rows(_ key: String, _ tensor: [String: Tensor]) -> [[Float]] {
            let t = tensor[key]!, columns = t.shape[1], values = t.scalars()
            return (0..<t.shape[0]).map { Array(values[($0 * columns)..<(($0 + 1) * columns)]) }
        }
        func close(_ a: [[Float]], _ b: [[Float]], _ label: String) {
            let worst = zip(a, b).flatMap { zip($0, $1).map { abs($0 - $1) } }.max() ?? .infinity
            #expect(a.count == b.count && worst <= 1e-5, "\(label): \(worst)")
        }

        let qkv = update("lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight", "lora_unet_double_blocks_0_img_attn_qkv.lora_up.weight", scale: 0.5)
        for (part, name) in ["to_q", "to_k", "to_v"].enumerated() {
            let key = "transformer_blocks.0.attn.\(name).weight"
            let expected = zip(rows(key, parameters), qkv[(part * inner)..<((part + 1) * inner)]).map { zip($0, $1).map(+) }
            close(rows(key, merged), expected, name)
        }
        let swapped = update("lora_unet_final_layer_adaLN_modulation_1.lora_down.weight", "lora_unet_final_layer_adaLN_modulation_1.lora_up.weight", scale: 1)
        let half = normOut[0] / 2
        let normExpected = rows("norm_out.linear.weight", parameters).enumerated().map { r, row in zip(row, swapped[(r + half) % normOut[0]]).map(+) }
        close(rows("norm_out.linear.weight", merged), normExpected, "norm_out.linear")

        let delta = update("transformer.transformer_blocks.1.ff.net.0.proj.lora_A.weight", "transformer.transformer_blocks.1.ff.net.0.proj.lora_B.weight", scale: 1)
        let magnitude = lora.tensors["transformer.transformer_blocks.1.ff.net.0.proj.lora_magnitude_vector"]!.scalars()
        let doraExpected = zip(rows("transformer_blocks.1.ff.net.0.proj.weight", parameters), delta).enumerated().map { r, pair in
            let sum = zip(pair.0, pair.1).map(+)
            let norm = sum.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
            return sum.map { magnitude[r] * $0 / norm }
        }
        close(rows("transformer_blocks.1.ff.net.0.proj.weight", merged), doraExpected, "DoRA ff.net.0.proj")
        #expect(merged["transformer_blocks.1.attn.to_q.weight"] === parameters["transformer_blocks.1.attn.to_q.weight"], "untouched weights are returned as given")
    }
}
