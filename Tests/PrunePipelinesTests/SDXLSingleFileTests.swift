import Foundation
import PruneNN
import PrunePipelines
import PruneSDXL
import PruneTensor
import PruneTestSupport
import Testing

/// The SDXL single-file fixture (`sdxl-pipeline-tiny.safetensors`, SGM names, fp16) against the same
/// pipeline as a diffusers folder (`sdxl-pipeline-tiny/`, fp32).
@Suite struct SDXLSingleFileTests {
    static let file = Fixtures.path("sdxl-pipeline-tiny.safetensors")
    static let folder = Fixtures.path("sdxl-pipeline-tiny")

    @Test("Every remapped tensor equals the folder's rounded to fp16, with identical key sets", arguments: SDXLSingleFile.componentNames)
    func tensorsMatchFolder(component name: String) throws {
        let single = try SDXLSingleFile(path: Self.file).component(name)
        let reference = try PipelineFolder(path: Self.folder).component(name)
        #expect(single.className == reference.className)
        #expect(single.tensors.keys == reference.tensors.keys)
        var mismatched: [String] = []
        for key in reference.tensors.keys {
            let expected = try reference.tensors.tensor(key)
            let actual = try single.tensors.tensor(key)
            if actual.shape != expected.shape
                || actual.scalars() != expected.converted(to: .float16).converted(to: .float32).scalars()
            {
                mismatched.append(key)
            }
        }
        #expect(mismatched.isEmpty, "\(name): \(mismatched.prefix(8))")
    }

    /// The members of each component's config.json that decide its structure.
    static let decisiveKeys: [String: [String]] = [
        "unet": [
            "_class_name", "block_out_channels", "layers_per_block", "transformer_layers_per_block", "attention_head_dim",
            "cross_attention_dim", "addition_embed_type", "addition_time_embed_dim", "projection_class_embeddings_input_dim",
            "in_channels", "out_channels", "down_block_types", "up_block_types", "mid_block_type", "norm_num_groups",
            "use_linear_projection", "act_fn", "flip_sin_to_cos", "freq_shift", "norm_eps",
        ],
        "text_encoder": [
            "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "max_position_embeddings", "vocab_size",
            "projection_dim", "hidden_act", "bos_token_id", "eos_token_id", "pad_token_id", "layer_norm_eps", "model_type", "architectures",
        ],
        "vae": [
            "_class_name", "block_out_channels", "latent_channels", "layers_per_block", "norm_num_groups", "in_channels", "out_channels",
            "scaling_factor", "down_block_types", "up_block_types", "use_quant_conv", "use_post_quant_conv", "act_fn",
        ],
    ]

    @Test("Derived configurations equal the folder's config.json where it matters", arguments: SDXLSingleFile.componentNames)
    func configurationsMatchFolder(component name: String) throws {
        let derived = try SDXLSingleFile(path: Self.file).configuration(of: name)
        let reference = try PipelineFolder(path: Self.folder).configuration(of: name)
        for key in Self.decisiveKeys[name == "text_encoder_2" ? "text_encoder" : name]! {
            #expect(derived[key] == reference[key], "\(name).\(key): derived \(derived[key].map(String.init(describing:)) ?? "absent"), folder \(reference[key].map(String.init(describing:)) ?? "absent")")
        }
    }

    @Test("The derived U-Net configuration decodes to the folder's resolved levels")
    func unetConfigurationDecodes() throws {
        let derived = try SDXLSingleFile(path: Self.file).configuration(of: "unet")
        let configuration = try JSONDecoder().decode(UNetConfiguration.self, from: try derived.jsonData())
        let reference = try UNetConfiguration.load(contentsOf: Fixtures.path("sdxl-pipeline-tiny/unet/config.json"))
        #expect(try configuration.resolvedLevels() == reference.resolvedLevels())
        #expect(configuration.additionTimeEmbedDim == reference.additionTimeEmbedDim)
    }

    @Test("The single file's U-Net forward equals the folder's within fp16 tolerance")
    func unetForwardMatchesFolder() throws {
        let unet = try SDXLSingleFile(path: Self.file).component("unet")
        let configuration = try JSONDecoder().decode(UNetConfiguration.self, from: try unet.configuration.jsonData())
        let (single, _) = try UNet2DConditionModel.load(configuration: configuration, source: unet.tensors, sourceName: unet.origin)
        let (folder, _) = try UNet2DConditionModel.load(directory: Fixtures.path("sdxl-pipeline-tiny/unet"))
        let inputs = UNetInputs(
            sample: Tensor.randomNormal([2, 4, 16, 16], standardDeviation: 1, seed: 1),
            timestep: Tensor([980.5, 17], shape: [2]),
            encoderHiddenStates: Tensor.randomNormal([2, 7, 72], standardDeviation: 1, seed: 2),
            textEmbeds: Tensor.randomNormal([2, 32], standardDeviation: 1, seed: 3),
            timeIDs: Tensor([1024, 1024, 0, 0, 1024, 1024, 512, 768, 16, 32, 512, 640], shape: [2, 6]))
        let actual = try withoutGradients { try single(inputs) }
        let expected = try withoutGradients { try folder(inputs) }
        let error = maximumRelativeError(actual, expected)
        print("single-file vs folder U-Net forward: max relative error \(error)")
        #expect(error <= 5e-3)
        // Against the folder's own fp16 variant (the same rounding), the outputs agree to float32 round-off.
        let (half, _) = try UNet2DConditionModel.load(
            configuration: configuration,
            source: try PipelineFolder(path: Self.folder).component("unet", variant: "fp16").tensors, sourceName: "fp16 variant")
        let halfError = maximumRelativeError(actual, try withoutGradients { try half(inputs) })
        print("single-file vs fp16-variant U-Net forward: max relative error \(halfError)")
        #expect(halfError <= 1e-6)
    }

    @Test("The recorded hyperparameters are read from __metadata__, and SDXL's defaults reject the tiny widths")
    func hyperparameters() throws {
        let checkpoint = try SDXLSingleFile(path: Self.file)
        #expect(checkpoint.hyperparameters.unetAttentionHeadWidth == 1)
        #expect(checkpoint.hyperparameters.textEncoderHeadWidth == 8)
        #expect(checkpoint.availableComponents == SDXLSingleFile.componentNames)
        let error = #expect(throws: PipelineError.self) { try SDXLSingleFile(path: Self.file, hyperparameters: SDXLHyperparameters()) }
        #expect(error?.description.contains("not a multiple of the attention head width 64") == true)
        #expect(error?.description.contains(Self.file) == true)
    }

    /// Writes `tensors` to a temporary safetensors file and returns its path.
    static func temporaryFile(_ tensors: [String: Tensor]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-single-\(UUID().uuidString).safetensors").path
        try SafetensorsWriter.write(tensors, to: path, dtype: .float16)
        return path
    }

    @Test("Files that are not SDXL single files are one error naming the file and what it looks like")
    func notSDXL() throws {
        let tiny = Tensor([1, 2], shape: [2])
        let cases: [(tensors: [String: Tensor], reason: String)] = [
            (["double_blocks.0.img_attn.qkv.weight": tiny, "img_in.weight": tiny], "FLUX"),
            (["cond_stage_model.transformer.text_model.final_layer_norm.weight": tiny, "model.diffusion_model.input_blocks.0.0.weight": tiny], "Stable Diffusion 1.x/2.x"),
            (["down_blocks.0.resnets.0.conv1.weight": tiny], "already diffusers names"),
            (["something.else": tiny], "lacks model.diffusion_model.input_blocks.0.0.weight"),
        ]
        for (tensors, reason) in cases {
            let path = try Self.temporaryFile(tensors)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let error = #expect(throws: PipelineError.self) { try SDXLSingleFile(path: path) }
            guard case .notACheckpoint(let named, let expected, let why)? = error else {
                Issue.record("\(reason): \(String(describing: error))")
                continue
            }
            #expect(named == path)
            #expect(expected.hasPrefix("an SDXL single-file checkpoint"))
            #expect(why.contains(reason), "\(why)")
        }
        #expect(throws: PipelineError.self) { try SDXLSingleFile(path: Fixtures.path("ops/ops.safetensors")) }
        #expect(throws: PipelineError.self) { try SDXLSingleFile(path: Fixtures.path("flux-tiny/diffusion_pytorch_model.safetensors")) }
    }

    @Test("Key rules: the longest dotted prefix wins, splits and transposes fit the shapes")
    func keyRules() throws {
        let base = DictionaryTensorSource([
            "p.a.in_proj_weight": Tensor((0..<12).map(Float.init), shape: [6, 2]),
            "p.a.proj.weight": Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3]),
            "p.b.conv.weight": Tensor([1, 2, 3, 4], shape: [2, 2, 1, 1]),
            "p.b.conv.bias": Tensor([1, 2], shape: [2]),
            "p.c.x": Tensor([1], shape: [1]),
            "other.key": Tensor([1], shape: [1]),
        ])
        let rules: [KeyRule] = [
            KeyRule("a.in_proj_weight", ["q.weight", "k.weight", "v.weight"], .splitRows),
            KeyRule("a.proj.weight", ["projection.weight"], .transpose),
            .rename("b", "block"),
            KeyRule("b.conv", ["block.linear"], .squeezeToMatrix),
            .drop("c"),
        ]
        let source = try RuleMappedTensorSource(base: base, prefix: "p.", rules: rules, name: "test")
        #expect(source.keys == ["block.linear.bias", "block.linear.weight", "k.weight", "projection.weight", "q.weight", "v.weight"])
        #expect(try source.tensor("k.weight").scalars() == [4, 5, 6, 7])
        #expect(try source.tensor("projection.weight").shape == [3, 2])
        #expect(try source.tensor("projection.weight").scalars() == [1, 4, 2, 5, 3, 6])
        #expect(source.shape(of: "block.linear.weight") == [2, 2])
        #expect(source.shape(of: "block.linear.bias") == [2])
        let bad = DictionaryTensorSource(["a.in_proj_weight": Tensor([1, 2], shape: [2])])
        #expect(throws: PipelineError.self) {
            try RuleMappedTensorSource(base: bad, prefix: "", rules: rules, name: "bad")
        }
    }
}
