import Foundation
import PruneKit
import PrunePipelines
import PruneTensor
import PruneTestSupport
import Testing

@testable import prunekit

/// `--model` given a diffusers pipeline folder or an SDXL single file instead of a bare denoiser folder.
@Suite struct PipelineModelTests {
    @Test("--model resolves a pipeline folder to its denoiser and a .safetensors file to an SDXL single file")
    func resolution() throws {
        #expect(try Architectures.resolveModel(Fixtures.path("sdxl-pipeline-tiny")) == .directory(Fixtures.path("sdxl-pipeline-tiny/unet")))
        #expect(
            try Architectures.resolveModel(Fixtures.path("flux-pipeline-tiny")) == .directory(Fixtures.path("flux-pipeline-tiny/transformer")))
        #expect(
            try Architectures.resolveModel(Fixtures.path("sdxl-pipeline-tiny.safetensors"))
                == .sdxlSingleFile(Fixtures.path("sdxl-pipeline-tiny.safetensors")))
        #expect(try Architectures.resolveModel(Fixtures.path("sdxl-tiny")) == .directory(Fixtures.path("sdxl-tiny")))
    }

    @Test("params counts a pipeline folder and a single file as their U-Net folder")
    func paramsOfPipelines() throws {
        let unet = try ParamsCommand.parse(["--model", Fixtures.path("sdxl-pipeline-tiny/unet")]).accounting()
        let pipeline = try ParamsCommand.parse(["--model", Fixtures.path("sdxl-pipeline-tiny")]).accounting()
        let single = try ParamsCommand.parse(["--model", Fixtures.path("sdxl-pipeline-tiny.safetensors"), "--json"]).accounting()
        #expect(pipeline == unet)
        #expect(single == unet)
        #expect(unet.heads > 0)
        let flux = try ParamsCommand.parse(["--model", Fixtures.path("flux-pipeline-tiny")]).accounting()
        #expect(flux == (try ParamsCommand.parse(["--model", Fixtures.path("flux-tiny")]).accounting()))
    }

    @Test("forward through the CLI gives the same output for the folder and the single file within fp16 tolerance")
    func forwardOfSingleFile() throws {
        let inputs = CLITests.temporaryPath("inputs.safetensors")
        let fromFolder = CLITests.temporaryPath("folder.safetensors")
        let fromFile = CLITests.temporaryPath("file.safetensors")
        defer { for path in [inputs, fromFolder, fromFile] { try? FileManager.default.removeItem(atPath: path) } }
        try SafetensorsWriter.write(
            [
                "sample": Tensor.randomNormal([1, 4, 8, 8], standardDeviation: 1, seed: 5), "timestep": Tensor([500], shape: [1]),
                "encoder_hidden_states": Tensor.randomNormal([1, 5, 72], standardDeviation: 1, seed: 6),
                "text_embeds": Tensor.randomNormal([1, 32], standardDeviation: 1, seed: 7),
                "time_ids": Tensor([512, 512, 0, 0, 512, 512], shape: [1, 6]),
            ], to: inputs)
        try CLITests.run(["forward", "--model", Fixtures.path("sdxl-pipeline-tiny"), "--inputs", inputs, "--output", fromFolder])
        try CLITests.run(["forward", "--model", Fixtures.path("sdxl-pipeline-tiny.safetensors"), "--inputs", inputs, "--output", fromFile])
        let error = maximumRelativeError(
            try SafetensorsFile.open(fromFile).tensor("output"), try SafetensorsFile.open(fromFolder).tensor("output"))
        #expect(error <= 5e-3)
    }

    @Test("A non-SDXL single file and a broken pipeline folder fail with one clear error")
    func errors() throws {
        #expect(throws: PipelineError.self) {
            try ParamsCommand.parse(["--model", Fixtures.path("ops/ops.safetensors")]).accounting()
        }
        let outcome = try CLIProcess.run(["params", "--model", Fixtures.path("flux-tiny/diffusion_pytorch_model.safetensors")])
        #expect(outcome.status != 0 && !outcome.signaled)
        #expect(outcome.errorLines.count == 1)
        #expect(outcome.errorLines.first?.contains("is not an SDXL single-file checkpoint") == true)
    }
}
