import Foundation
import PruneDemo
import PruneKit
import PruneTensor
import PruneTestSupport
import Testing

@testable import prunekit

/// `prunekit generate` against diffusers' own `StableDiffusionXLPipeline` / `FluxPipeline` on the tiny fixture
/// pipelines (`make_generate_fixtures.py`): the same prompt and initial noise give the same final latents (within
/// 1e-4 relative) and the same 8-bit picture (within 2 levels).
@Suite struct GenerateCommandTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var pipeline: String
        var arguments: [String]
        var testDescription: String { pipeline }
    }

    static let cases = [
        Case(
            pipeline: "sdxl-pipeline-tiny",
            arguments: ["--prompt", "a red fox in the snow", "--negative-prompt", "blurry", "--steps", "3", "--guidance", "5", "--height", "64", "--width", "64"]),
        Case(
            pipeline: "flux-pipeline-tiny",
            arguments: ["--prompt", "a red fox in the snow", "--steps", "3", "--guidance", "3.5", "--height", "64", "--width", "64", "--max-sequence-length", "16"]),
    ]

    @Test("generate reproduces diffusers' pipeline: final latents within 1e-4, 8-bit image within 2 levels", arguments: cases)
    func matchesDiffusers(_ testCase: Case) throws {
        let root = ResolvedPath(CLITests.temporaryPath("generate"))!.path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let reference = try SafetensorsFile.open(Fixtures.path("\(testCase.pipeline)/generate.safetensors"))
        try SafetensorsWriter.write(["latents": try reference.tensor("noise")], to: root + "/noise.safetensors")
        try CLITests.run(
            ["generate", "--model", Fixtures.path(testCase.pipeline)] + testCase.arguments + [
                "--latents", root + "/noise.safetensors", "--output", root + "/image.png", "--latents-output", root + "/final.safetensors",
            ])
        let latents = try SafetensorsFile.open(root + "/final.safetensors").tensor("latents")
        let latentError = maximumRelativeError(latents, try reference.tensor("latents"))
        let image = try PNGFile.read(root + "/image.png")
        let expected = try reference.tensor("image").scalars()
        #expect(image.bytes.count == expected.count)
        let worst = zip(image.bytes, expected).map { abs(Float($0) - $1) }.max() ?? .infinity
        print("generate \(testCase.pipeline): final latents max relative error \(latentError), image max |Δ| \(worst) levels")
        #expect(latentError <= 1e-4)
        #expect(worst <= 2)
        #expect(OutputMarker.isPruneKitFile(root + "/image.png", format: .png))
    }

    @Test("A latents file of the wrong shape or a size the VAE cannot take is one clear error, and no PNG is left")
    func badInput() throws {
        let root = ResolvedPath(CLITests.temporaryPath("generate-bad"))!.path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try SafetensorsWriter.write(["latents": Tensor.zeros([1, 4, 3, 3])], to: root + "/noise.safetensors")
        let model = Fixtures.path("sdxl-pipeline-tiny")
        var outcome = try CLIProcess.run([
            "generate", "--model", model, "--prompt", "a fox", "--steps", "1", "--height", "64", "--width", "64",
            "--latents", root + "/noise.safetensors", "--output", root + "/a.png",
        ])
        #expect(outcome.status == 1 && outcome.errorLines.first?.contains("latents has shape [1, 4, 3, 3], expected [1, 4, 16, 16]") == true, "\(outcome.standardError)")
        outcome = try CLIProcess.run(["generate", "--model", model, "--prompt", "a fox", "--height", "60", "--output", root + "/b.png"])
        #expect(outcome.status == 64 && outcome.errorLines.first?.contains("--height must be a positive multiple of 16") == true)
        outcome = try CLIProcess.run(["generate", "--model", Fixtures.path("sdxl-tiny"), "--embeddings", Fixtures.path("sdxl-tiny/sampling.safetensors"), "--output", root + "/c.png"])
        #expect(outcome.status == 64 && outcome.errorLines.first?.contains("generate needs the pipeline's VAE") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root) == ["noise.safetensors"])
    }

    @Test("A VAE config that does not match its weights, or an output that cannot be written, is one clear error before any denoising")
    func vaeMismatchAndUnwritableOutput() throws {
        let root = ResolvedPath(CLITests.temporaryPath("generate-vae"))!.path
        let pipeline = root + "/pipeline"
        try FileManager.default.createDirectory(atPath: pipeline + "/vae", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let source = Fixtures.path("sdxl-pipeline-tiny")
        for entry in try FileManager.default.contentsOfDirectory(atPath: source) where entry != "vae" {
            try FileManager.default.createSymbolicLink(atPath: pipeline + "/" + entry, withDestinationPath: source + "/" + entry)
        }
        try FileManager.default.createSymbolicLink(
            atPath: pipeline + "/vae/diffusion_pytorch_model.safetensors", withDestinationPath: source + "/vae/diffusion_pytorch_model.safetensors")
        var config = try String(contentsOfFile: source + "/vae/config.json", encoding: .utf8)
        config = config.replacingOccurrences(of: "\"latent_channels\": 4", with: "\"latent_channels\": 8")
        try Data(config.utf8).write(to: URL(fileURLWithPath: pipeline + "/vae/config.json"))
        var outcome = try CLIProcess.run([
            "generate", "--model", pipeline, "--prompt", "a fox", "--steps", "1", "--height", "32", "--width", "32", "--output", root + "/a.png",
        ])
        #expect(outcome.status == 1 && outcome.standardError.contains("vae"), "\(outcome.standardError)")
        #expect(!outcome.standardError.contains("step 1/"), "the VAE is checked before any denoising")
        #expect(outcome.errorLines.count == 1, "\(outcome.standardError)")

        try Data("a file".utf8).write(to: URL(fileURLWithPath: root + "/file"))
        outcome = try CLIProcess.run([
            "generate", "--model", source, "--prompt", "a fox", "--steps", "1", "--height", "32", "--width", "32", "--output", root + "/file/b.png",
        ])
        #expect(outcome.status != 0 && outcome.errorLines.count == 1 && outcome.standardError.contains(root + "/file"), "\(outcome.standardError)")
        #expect(!outcome.standardError.contains("step 1/"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root).sorted() == ["file", "pipeline"])
    }
}
