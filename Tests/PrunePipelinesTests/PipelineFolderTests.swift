import Foundation
import PruneNN
import PrunePipelines
import PruneTensor
import PruneTestSupport
import Testing

/// Pipeline folders: `model_index.json`, component slots, and weight files (plain, fp16 variants, shards).
@Suite struct PipelineFolderTests {
    /// A fresh temporary folder, removed by the caller.
    static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-pipeline-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Copies the SDXL fixture pipeline to a temporary folder for tests that break it.
    static func copyOfSDXLPipeline() throws -> URL {
        let url = try temporaryFolder().appendingPathComponent("pipeline")
        try FileManager.default.copyItem(atPath: Fixtures.path("sdxl-pipeline-tiny"), toPath: url.path)
        return url
    }

    /// Rewrites one member of a folder's `model_index.json`.
    static func editIndex(_ folder: URL, _ edit: (inout [String: Any]) -> Void) throws {
        let path = folder.appendingPathComponent("model_index.json")
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: path)) as! [String: Any]
        edit(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: path)
    }

    @Test("An SDXL pipeline folder lists its components and resolves the U-Net folder")
    func sdxlFolder() throws {
        let pipeline = try PipelineFolder(path: Fixtures.path("sdxl-pipeline-tiny"))
        #expect(pipeline.className == "StableDiffusionXLPipeline")
        #expect(pipeline.family == .stableDiffusionXL)
        #expect(
            pipeline.components.keys.sorted() == ["scheduler", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "unet", "vae"])
        #expect(pipeline.components["tokenizer_2"] == .init(library: "transformers", className: "CLIPTokenizer"))
        #expect(pipeline.components["text_encoder_2"] == .init(library: "transformers", className: "CLIPTextModelWithProjection"))
        #expect(pipeline.denoiserDirectory == Fixtures.path("sdxl-pipeline-tiny/unet"))
        #expect(pipeline.attributes["force_zeros_for_empty_prompt"] == .bool(true))
        #expect(try pipeline.weights(of: "unet").layout == .single(Fixtures.path("sdxl-pipeline-tiny/unet/diffusion_pytorch_model.safetensors")))
        #expect(try pipeline.weights(of: "text_encoder").layout == .single(Fixtures.path("sdxl-pipeline-tiny/text_encoder/model.safetensors")))
        let fp16 = try pipeline.weights(of: "unet", variant: "fp16")
        #expect(fp16 == WeightFiles(layout: .single(Fixtures.path("sdxl-pipeline-tiny/unet/diffusion_pytorch_model.fp16.safetensors")), variant: "fp16"))
        #expect(try pipeline.configuration(of: "scheduler")["_class_name"] == .string("EulerDiscreteScheduler"))
        let unet = try pipeline.component("unet")
        #expect(unet.className == "UNet2DConditionModel")
        #expect(unet.configuration["block_out_channels"] == .ints([2, 4]))
        #expect(unet.tensors.keys.count == 428)
    }

    @Test("The fp16 variant holds the same tensors rounded to half precision")
    func fp16VariantMatches() throws {
        let pipeline = try PipelineFolder(path: Fixtures.path("sdxl-pipeline-tiny"))
        let plain = try pipeline.component("unet").tensors
        let half = try pipeline.component("unet", variant: "fp16").tensors
        #expect(plain.keys == half.keys)
        for key in plain.keys {
            #expect(try half.tensor(key).scalars() == plain.tensor(key).converted(to: .float16).converted(to: .float32).scalars(), "\(key)")
        }
    }

    @Test("A FLUX pipeline folder resolves its sharded transformer")
    func fluxFolder() throws {
        let pipeline = try PipelineFolder(path: Fixtures.path("flux-pipeline-tiny"))
        #expect(pipeline.family == .flux)
        #expect(pipeline.denoiserDirectory == Fixtures.path("flux-pipeline-tiny/transformer"))
        let files = try pipeline.weights(of: "transformer")
        #expect(files.layout == .sharded(index: Fixtures.path("flux-pipeline-tiny/transformer/diffusion_pytorch_model.safetensors.index.json")))
        let transformer = try pipeline.component("transformer")
        #expect(transformer.tensors.keys.contains("single_transformer_blocks.0.proj_out.weight"))
        #expect(try pipeline.component("text_encoder_2").className == "T5EncoderModel")
        #expect(try pipeline.configuration(of: "vae")["latent_channels"] == .int(1))
    }

    @Test("Only fp16 files, single or sharded, are found as the variant, with diffusers' variant names")
    func fp16OnlyFolders() throws {
        let root = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let tensors = ["a.weight": Tensor([1, 2, 3, 4], shape: [2, 2]), "b.bias": Tensor([5, 6, 7], shape: [3])]

        let single = root.appendingPathComponent("single")
        try FileManager.default.createDirectory(at: single, withIntermediateDirectories: true)
        try SafetensorsWriter.write(tensors, to: single.appendingPathComponent("diffusion_pytorch_model.fp16.safetensors").path, dtype: .float16)
        #expect(WeightFiles.find(in: single.path)?.variant == "fp16")
        #expect(try SafetensorsTensorSource(modelDirectory: single.path).tensor("b.bias").scalars() == [5, 6, 7])

        let sharded = root.appendingPathComponent("sharded")
        try FileManager.default.createDirectory(at: sharded, withIntermediateDirectories: true)
        let shards = ["diffusion_pytorch_model.fp16-00001-of-00002.safetensors", "diffusion_pytorch_model.fp16-00002-of-00002.safetensors"]
        try SafetensorsWriter.write(["a.weight": tensors["a.weight"]!], to: sharded.appendingPathComponent(shards[0]).path, dtype: .float16)
        try SafetensorsWriter.write(["b.bias": tensors["b.bias"]!], to: sharded.appendingPathComponent(shards[1]).path, dtype: .float16)
        let index = #"{"metadata": {}, "weight_map": {"a.weight": "\#(shards[0])", "b.bias": "\#(shards[1])"}}"#
        try Data(index.utf8).write(to: sharded.appendingPathComponent("diffusion_pytorch_model.safetensors.index.fp16.json"))
        let found = try #require(WeightFiles.find(in: sharded.path))
        #expect(found.variant == "fp16")
        #expect(found.layout == .sharded(index: sharded.appendingPathComponent("diffusion_pytorch_model.safetensors.index.fp16.json").path))
        let source = try SafetensorsTensorSource(modelDirectory: sharded.path)
        #expect(source.keys == ["a.weight", "b.bias"])
        #expect(try source.tensor("a.weight").scalars() == [1, 2, 3, 4])
        #expect(WeightFiles.find(in: sharded.path, variant: "bf16") == nil)
    }

    @Test("A component folder that is missing is one error naming the folder")
    func missingComponentFolder() throws {
        let folder = try Self.copyOfSDXLPipeline()
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        try FileManager.default.removeItem(at: folder.appendingPathComponent("vae"))
        #expect(throws: PipelineError.missingFile(path: folder.appendingPathComponent("vae").path, purpose: "the AutoencoderKL folder model_index.json names")) {
            try PipelineFolder(path: folder.path)
        }
    }

    @Test("An unknown pipeline class or component class is rejected, naming model_index.json")
    func unknownClasses() throws {
        let folder = try Self.copyOfSDXLPipeline()
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        let index = folder.appendingPathComponent("model_index.json").path
        try Self.editIndex(folder) { $0["_class_name"] = "StableDiffusion3Pipeline" }
        #expect(throws: PipelineError.unknownPipelineClass(path: index, className: "StableDiffusion3Pipeline", known: PipelineFamily.knownPipelineClasses)) {
            try PipelineFolder(path: folder.path)
        }
        try Self.editIndex(folder) {
            $0["_class_name"] = "StableDiffusionXLImg2ImgPipeline"
            $0["text_encoder_2"] = ["transformers", "T5EncoderModel"]
        }
        #expect(throws: PipelineError.unknownComponentClass(path: index, component: "text_encoder_2", className: "T5EncoderModel", expected: ["CLIPTextModelWithProjection"])) {
            try PipelineFolder(path: folder.path)
        }
    }

    @Test("A component without weights is one error naming its folder and the files looked for")
    func componentWithoutWeights() throws {
        let folder = try Self.copyOfSDXLPipeline()
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        let vae = folder.appendingPathComponent("vae")
        try FileManager.default.removeItem(at: vae.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        let pipeline = try PipelineFolder(path: folder.path)
        let error = PipelineError.noWeights(
            directory: vae.path, expected: ["diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.safetensors.index.json"])
        #expect(throws: error) { try pipeline.component("vae") }
        #expect(error.description.contains(vae.path))
        #expect(throws: PipelineError.self) { try pipeline.component("tokenizer") }
    }

    @Test("A folder without model_index.json is not a pipeline folder")
    func notAPipeline() throws {
        #expect(!PipelineFolder.isPipelineFolder(Fixtures.path("sdxl-tiny")))
        #expect(PipelineFolder.isPipelineFolder(Fixtures.path("flux-pipeline-tiny")))
        #expect(throws: PipelineError.self) { try PipelineFolder(path: Fixtures.path("sdxl-tiny")) }
    }
}
