import Foundation
import PruneKit
import PrunePipelines
import PruneTensor
import PruneTestSupport
import Testing

@testable import prunekit

/// Prompt text into real pipelines through the CLI: `encode-prompt`, `prune --prompts` and `sample --prompt` on
/// the tiny SDXL and FLUX pipeline folders and the SDXL single file, and the bad inputs that must be one clear
/// error with nothing written.
@Suite struct PipelinePromptCLITests {
    static let sdxl = Fixtures.path("sdxl-pipeline-tiny")
    static let sdxlFile = Fixtures.path("sdxl-pipeline-tiny.safetensors")
    static let flux = Fixtures.path("flux-pipeline-tiny")

    /// A scratch folder, removed by the caller.
    static func scratch() throws -> String {
        let path = ResolvedPath(CLITests.temporaryPath("pipeline-prompts"))!.path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("encode-prompt writes diffusers' four SDXL tensors, equal to diffusers' encode_prompt within 1e-4")
    func encodePromptSDXL() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let output = root + "/embeds.safetensors"
        // The fixture's case with an explicit negative prompt (encode_prompt.json).
        let negative = try #require(EncodePromptParityTestsCases.sdxl.first { ($0.negativePrompt ?? "") != "" && $0.clipSkip == nil })
        try CLITests.run([
            "encode-prompt", "--model", Self.sdxl, "--prompt", negative.prompt, "--negative-prompt", negative.negativePrompt!, "--output", output,
        ])
        let file = try SafetensorsFile.open(output)
        #expect(Set(file.keys) == ["prompt_embeds", "pooled_prompt_embeds", "negative_prompt_embeds", "negative_pooled_prompt_embeds"])
        #expect(file.metadata["prunekit.output"] == "encode-prompt")
        let reference = try SafetensorsFile.open(Self.sdxl + "/encode_prompt.safetensors")
        for name in file.keys {
            let error = maximumRelativeError(try file.tensor(name), try reference.tensor("\(negative.name).\(name)"))
            #expect(error <= 1e-4, "\(name): \(error)")
        }
    }

    @Test("encode-prompt on FLUX honours --max-sequence-length; without --negative-prompt it writes no negatives")
    func encodePromptFlux() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let output = root + "/embeds.safetensors"
        try CLITests.run(["encode-prompt", "--model", Self.flux, "--prompt", "a fox", "--max-sequence-length", "16", "--output", output])
        let file = try SafetensorsFile.open(output)
        #expect(Set(file.keys) == ["prompt_embeds", "pooled_prompt_embeds"])
        #expect(try file.tensor("prompt_embeds").shape == [1, 16, 32])
    }

    @Test("An SDXL single file encodes with --tokenizer's folder; with the bundled vocabulary the tiny encoders refuse its ids")
    func encodePromptSingleFile() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let output = root + "/embeds.safetensors"
        try CLITests.run(["encode-prompt", "--model", Self.sdxlFile, "--tokenizer", Self.sdxl, "--prompt", "a fox", "--output", output])
        #expect(try SafetensorsFile.open(output).tensor("prompt_embeds").shape == [1, 77, 72])
        // The bundled real CLIP vocabulary has ids up to 49407; the fixture's encoders hold 3514 rows.
        let failed = root + "/failed.safetensors"
        let outcome = try CLIProcess.run(["encode-prompt", "--model", Self.sdxlFile, "--prompt", "a fox", "--output", failed])
        #expect(outcome.status == 1)
        #expect(outcome.errorLines.first?.contains("text_encoder") == true, "\(outcome.standardError)")
        #expect(!FileManager.default.fileExists(atPath: failed))
    }

    @Test("Bad pipelines are one error naming the file, with nothing written", arguments: ["bare", "index", "tokenizer", "notSDXL"])
    func badInputs(_ kind: String) throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let copy = root + "/pipeline"
        try FileManager.default.copyItem(atPath: Self.sdxl, toPath: copy)
        var model = copy
        let expected: String
        var status: Int32 = 1
        switch kind {
        case "bare":
            model = copy + "/unet"
            expected = "is not a diffusers pipeline folder"
            status = 64
        case "index":
            let index = copy + "/model_index.json"
            var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: index))) as! [String: Any]
            json["text_encoder_2"] = ["transformers", "SomethingElse"]
            try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: index))
            expected = "model_index.json: component text_encoder_2 is a SomethingElse"
        case "tokenizer":
            try Data("{not json".utf8).write(to: URL(fileURLWithPath: copy + "/tokenizer/vocab.json"))
            expected = copy + "/tokenizer"
        default:
            model = Fixtures.path("flux-tiny/diffusion_pytorch_model.safetensors")
            expected = "is not"
        }
        let output = root + "/out.safetensors"
        let outcome = try CLIProcess.run(["encode-prompt", "--model", model, "--prompt", "a fox", "--output", output])
        #expect(outcome.status == status, "\(kind): \(outcome.standardError)")
        #expect(outcome.errorLines.count == 1 && outcome.errorLines[0].contains(expected), "\(kind): \(outcome.standardError)")
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test("prune --prompts calibrates SDXL and FLUX pipelines (folder and single file) with their own text encoders")
    func pruneWithPrompts() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let prompts = root + "/prompts.txt"
        try Data("# calibration prompts\na red fox in the snow\n\na blue car on a street, 35mm photo\n".utf8).write(
            to: URL(fileURLWithPath: prompts))
        let runs: [(String, [String])] = [
            ("sdxl", ["--model", Self.sdxl, "--preset", "sdxl-base", "--height", "64", "--width", "64"]),
            ("single", ["--model", Self.sdxlFile, "--tokenizer", Self.sdxl, "--preset", "sdxl-base", "--height", "64", "--width", "64"]),
            ("flux", ["--model", Self.flux, "--preset", "flux-schnell", "--height", "32", "--width", "32", "--max-sequence-length", "16"]),
        ]
        for (name, model) in runs {
            let out = root + "/pruned-\(name)"
            try CLITests.run(
                ["prune"] + model + ["--prompts", prompts, "--criterion", "ecodiff", "--target", "0.3", "--steps", "2", "--epochs", "1", "--out", out])
            let manifest = try ExportManifest.load(directory: out)
            #expect(manifest.parameterCount < manifest.source.parameterCount, "\(name)")
        }
    }

    @Test("Pruning a pipeline folder writes a pipeline folder: other components linked, the pruned U-Net in place, usable by every command")
    func pipelineInPipelineOut() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let out = root + "/pruned"
        try CLITests.run(["prune", "--model", Self.sdxl, "--criterion", "magnitude", "--target", "0.3", "--out", out])
        let entries = Set(try FileManager.default.contentsOfDirectory(atPath: out))
        #expect(entries.isSuperset(of: ["model_index.json", "prunekit.json", "unet", "vae", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "scheduler"]))
        // Unchanged components are hard links of the source's files (same inode), not copies.
        var source = stat()
        var linked = stat()
        #expect(stat(Self.sdxl + "/text_encoder/model.safetensors", &source) == 0 && stat(out + "/text_encoder/model.safetensors", &linked) == 0)
        #expect(source.st_ino == linked.st_ino)
        let manifest = try ExportManifest.load(directory: out)
        #expect(manifest.parameterCount < manifest.source.parameterCount)
        #expect(try ExportManifest.load(directory: out + "/unet") == manifest)
        #expect(try ParamsCommand.parse(["--model", out]).accounting().parameters == manifest.parameterCount)
        // The pruned pipeline encodes prompts and samples like the original.
        try CLITests.run(["encode-prompt", "--model", out, "--prompt", "a fox", "--output", root + "/e.safetensors"])
        try CLITests.run([
            "sample", "--model", out, "--prompt", "a fox", "--preset", "sdxl-base", "--steps", "1", "--height", "64", "--width", "64",
            "--output", root + "/l.safetensors",
        ])
        // The fixture's VAE has 3 levels: diffusers' vae_scale_factor is 4, so 64 pixels are 16 latent rows.
        #expect(try SafetensorsFile.open(root + "/l.safetensors").tensor("latents").shape == [1, 4, 16, 16])
    }

    @Test("An fp16 model exports as fp16 by default, smaller on disk than its source by the removed share")
    func exportKeepsTheSourceType() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let model = root + "/unet-fp16"
        try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.sdxl + "/unet/config.json", toPath: model + "/config.json")
        let sourceFile = model + "/diffusion_pytorch_model.fp16.safetensors"
        try FileManager.default.copyItem(atPath: Self.sdxl + "/unet/diffusion_pytorch_model.fp16.safetensors", toPath: sourceFile)
        let out = root + "/pruned"
        try CLITests.run(["prune", "--model", model, "--criterion", "magnitude", "--target", "0.5", "--out", out])
        let exported = try SafetensorsFile.open(out + "/diffusion_pytorch_model.safetensors")
        #expect(exported.keys.allSatisfy { exported.info($0)?.dtype.computeDType == .float16 })
        let manifest = try ExportManifest.load(directory: out)
        // The data sections (file minus the 8-byte length and the JSON header) hold two bytes per parameter: the
        // export is smaller than its source by exactly the removed parameters.
        func dataBytes(_ path: String) throws -> Int {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            let headerLength = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            return bytes.count - 8 - headerLength
        }
        #expect(try dataBytes(sourceFile) == 2 * manifest.source.parameterCount)
        #expect(try dataBytes(out + "/diffusion_pytorch_model.safetensors") == 2 * manifest.parameterCount)
        #expect(manifest.parameterCount < manifest.source.parameterCount)
        try CLITests.run(["prune", "--model", model, "--criterion", "magnitude", "--target", "0.5", "--dtype", "float32", "--out", root + "/f32"])
        let wide = try SafetensorsFile.open(root + "/f32/diffusion_pytorch_model.safetensors")
        #expect(wide.keys.allSatisfy { wide.info($0)?.dtype.computeDType == .float32 })
    }

    @Test("sample --prompt equals sample --embeddings of encode-prompt's file, bit for bit")
    func sampleWithPrompt() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let embeds = root + "/embeds.safetensors"
        try CLITests.run(["encode-prompt", "--model", Self.sdxl, "--prompt", "a fox", "--output", embeds])
        let common = ["sample", "--model", Self.sdxl, "--preset", "sdxl-base", "--steps", "2", "--height", "64", "--width", "64", "--seed", "3"]
        try CLITests.run(common + ["--prompt", "a fox", "--output", root + "/a.safetensors"])
        try CLITests.run(common + ["--embeddings", embeds, "--output", root + "/b.safetensors"])
        let a = try SafetensorsFile.open(root + "/a.safetensors").tensor("latents").scalars()
        let b = try SafetensorsFile.open(root + "/b.safetensors").tensor("latents").scalars()
        #expect(a == b)
        #expect(throws: (any Error).self) { try CLITests.run(common + ["--output", root + "/c.safetensors"]) }
        #expect(throws: (any Error).self) {
            try CLITests.run(common + ["--prompt", "x", "--embeddings", embeds, "--output", root + "/c.safetensors"])
        }
    }
}

/// The cases of the SDXL pipeline's `encode_prompt.json`.
enum EncodePromptParityTestsCases {
    struct Case: Decodable {
        var name: String
        var prompt: String
        var negativePrompt: String?
        var clipSkip: Int?
        enum CodingKeys: String, CodingKey {
            case name, prompt
            case negativePrompt = "negative_prompt"
            case clipSkip = "clip_skip"
        }
    }
    struct Cases: Decodable { var cases: [Case] }
    static let sdxl: [Case] = {
        guard let data = FileManager.default.contents(atPath: Fixtures.path("sdxl-pipeline-tiny/encode_prompt.json")) else { return [] }
        return (try? JSONDecoder().decode(Cases.self, from: data).cases) ?? []
    }()
}
