import Foundation
import PruneFlux
import PruneNN
import PruneTensor
import PruneTestSupport
import Testing

/// Loading Black Forest Labs' original single-file naming through ``FluxKeyRules/blackForestLabs``: the
/// fixture weights are converted to BFL names here (an independent, hand-written inverse of
/// `research/architectures.md` §2.5) and loaded back.
@Suite struct FluxBlackForestLabsTests {
    /// diffusers tensors → BFL tensors: fused `qkv` and `linear1` rows, `scale` norm weights, `[shift; scale]`.
    static func blackForestLabsTensors(_ diffusers: [String: Tensor], configuration: FluxConfiguration) -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        func copy(_ from: String, _ to: String, parameters: [String] = ["weight", "bias"]) {
            for parameter in parameters { result["\(to).\(parameter)"] = diffusers["\(from).\(parameter)"]! }
        }
        func fuse(_ parts: [String], _ to: String) {
            for parameter in ["weight", "bias"] {
                result["\(to).\(parameter)"] = concatenate(parts.map { diffusers["\($0).\(parameter)"]! }, axis: 0)
            }
        }
        func norm(_ from: String, _ to: String) { result["\(to).scale"] = diffusers["\(from).weight"]! }
        copy("x_embedder", "img_in")
        copy("context_embedder", "txt_in")
        copy("time_text_embed.timestep_embedder.linear_1", "time_in.in_layer")
        copy("time_text_embed.timestep_embedder.linear_2", "time_in.out_layer")
        copy("time_text_embed.text_embedder.linear_1", "vector_in.in_layer")
        copy("time_text_embed.text_embedder.linear_2", "vector_in.out_layer")
        if configuration.guidanceEmbeds {
            copy("time_text_embed.guidance_embedder.linear_1", "guidance_in.in_layer")
            copy("time_text_embed.guidance_embedder.linear_2", "guidance_in.out_layer")
        }
        for i in 0..<configuration.doubleBlockCount {
            let (d, b) = ("transformer_blocks.\(i)", "double_blocks.\(i)")
            copy("\(d).norm1.linear", "\(b).img_mod.lin")
            copy("\(d).norm1_context.linear", "\(b).txt_mod.lin")
            fuse(["\(d).attn.to_q", "\(d).attn.to_k", "\(d).attn.to_v"], "\(b).img_attn.qkv")
            fuse(["\(d).attn.add_q_proj", "\(d).attn.add_k_proj", "\(d).attn.add_v_proj"], "\(b).txt_attn.qkv")
            norm("\(d).attn.norm_q", "\(b).img_attn.norm.query_norm")
            norm("\(d).attn.norm_k", "\(b).img_attn.norm.key_norm")
            norm("\(d).attn.norm_added_q", "\(b).txt_attn.norm.query_norm")
            norm("\(d).attn.norm_added_k", "\(b).txt_attn.norm.key_norm")
            copy("\(d).attn.to_out.0", "\(b).img_attn.proj")
            copy("\(d).attn.to_add_out", "\(b).txt_attn.proj")
            copy("\(d).ff.net.0.proj", "\(b).img_mlp.0")
            copy("\(d).ff.net.2", "\(b).img_mlp.2")
            copy("\(d).ff_context.net.0.proj", "\(b).txt_mlp.0")
            copy("\(d).ff_context.net.2", "\(b).txt_mlp.2")
        }
        for i in 0..<configuration.singleBlockCount {
            let (d, b) = ("single_transformer_blocks.\(i)", "single_blocks.\(i)")
            copy("\(d).norm.linear", "\(b).modulation.lin")
            fuse(["\(d).attn.to_q", "\(d).attn.to_k", "\(d).attn.to_v", "\(d).proj_mlp"], "\(b).linear1")
            norm("\(d).attn.norm_q", "\(b).norm.query_norm")
            norm("\(d).attn.norm_k", "\(b).norm.key_norm")
            copy("\(d).proj_out", "\(b).linear2")
        }
        copy("proj_out", "final_layer.linear")
        for parameter in ["weight", "bias"] {
            let halves = diffusers["norm_out.linear.\(parameter)"]!.chunked(2, axis: 0)  // [scale; shift]
            result["final_layer.adaLN_modulation.1.\(parameter)"] = concatenate([halves[1], halves[0]], axis: 0)
        }
        return result
    }

    /// The fixture's diffusers weights by key.
    static func diffusersTensors(_ fixture: FluxFixture) throws -> [String: Tensor] {
        let file = try SafetensorsFile.open(URL(fileURLWithPath: fixture.directory).appendingPathComponent("diffusion_pytorch_model.safetensors").path)
        return Dictionary(uniqueKeysWithValues: try file.keys.map { ($0, try file.tensor($0)) })
    }

    static func temporaryFile(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-\(UUID().uuidString)-\(name)").path
    }

    @Test("A BFL-named single file loads into the same weights and reproduces diffusers' output", arguments: FluxFixture.all)
    func loadsConvertedCheckpoint(fixture: FluxFixture) throws {
        let reference = try fixture.loadModel()
        let diffusers = try Self.diffusersTensors(fixture)
        let path = Self.temporaryFile("flux1.safetensors")
        try SafetensorsWriter.write(Self.blackForestLabsTensors(diffusers, configuration: reference.configuration), to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }

        let loaded = try FluxModelLoader.loadBlackForestLabs(file: path, configuration: reference.configuration)
        #expect(loaded.parameters.orderedKeys == reference.parameters.orderedKeys)
        for key in reference.parameters.orderedKeys {
            #expect(loaded.parameters.parameters[key]!.scalars() == diffusers[key]!.scalars(), "\(key)")
        }
        let output = withoutGradients { try! fixture.inputs().run(loaded.model) }
        #expect(maximumRelativeError(output, try fixture.expected("output")) <= 1e-4)
    }

    @Test("An all-in-one file's model.diffusion_model. prefix is stripped and other models' tensors are ignored")
    func allInOnePrefix() throws {
        let fixture = FluxFixture.all[1]
        let configuration = try FluxConfiguration.load(path: Fixtures.path("flux-small/config.json"))
        var tensors: [String: Tensor] = [:]
        for (key, tensor) in Self.blackForestLabsTensors(try Self.diffusersTensors(fixture), configuration: configuration) {
            tensors["model.diffusion_model.\(key)"] = tensor
        }
        tensors["vae.decoder.conv_in.weight"] = Tensor.zeros([2, 2])
        tensors["text_encoders.clip_l.logit_scale"] = Tensor.zeros([1])
        let path = Self.temporaryFile("all-in-one.safetensors")
        try SafetensorsWriter.write(tensors, to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }

        let loaded = try FluxModelLoader.loadBlackForestLabs(file: path, configuration: configuration)
        let output = withoutGradients { try! fixture.inputs().run(loaded.model) }
        #expect(maximumRelativeError(output, try fixture.expected("output")) <= 1e-4)
    }

    @Test("Renamed keys present the diffusers shapes without loading, and unknown keys stay visible")
    func remappedSourceShapes() throws {
        let configuration = try FluxConfiguration.load(path: Fixtures.path("flux-tiny/config.json"))
        var tensors = Self.blackForestLabsTensors(try Self.diffusersTensors(FluxFixture.all[0]), configuration: configuration)
        tensors["double_blocks.0.img_attn.extra.weight"] = Tensor.zeros([3])
        let source = RemappedTensorSource(base: DictionaryTensorSource(tensors), rules: FluxKeyRules.blackForestLabs)
        #expect(source.shape(of: "single_transformer_blocks.0.proj_mlp.weight") == [128, 32])
        #expect(source.shape(of: "single_transformer_blocks.0.proj_mlp.bias") == [128])
        #expect(source.shape(of: "transformer_blocks.0.attn.add_v_proj.bias") == [32])
        #expect(source.shape(of: "transformer_blocks.0.attn.norm_added_k.weight") == [16])
        #expect(source.keys.contains("double_blocks.0.img_attn.extra.weight"))
        #expect(source.keys.count == 62 + 1)

        let store = ParameterStore(source: source, sourceName: "bfl")
        _ = FluxTransformer2DModel(configuration: configuration, weights: store.root)
        #expect(throws: CheckpointError.mismatched(
            source: "bfl", problems: [.unexpected(key: "double_blocks.0.img_attn.extra.weight", shape: [3])])) {
            try store.finish()
        }
    }
}
