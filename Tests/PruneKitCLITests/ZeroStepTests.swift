import Foundation
import PruneKit
import PruneSDXL
import PruneTensor
import PruneTestSupport
import Testing

@testable import prunekit

/// A schedule of zero (or negative) steps is a clear error wherever a step count enters: the CLI flags,
/// the scheduler presets, the samplers and the prunable models' trajectories. Nothing is written.
@Suite struct ZeroStepTests {
    static let sdxlSample = [
        "sample", "--model", Fixtures.path("sdxl-small"), "--embeddings", Fixtures.path("sdxl-small/sampling.safetensors"),
        "--preset", "sdxl-base", "--height", "64", "--width", "64",
    ]
    static let fluxSample = [
        "sample", "--model", Fixtures.path("flux-small"), "--embeddings", Fixtures.path("flux-small/sampling.safetensors"),
        "--preset", "flux-dev", "--height", "64", "--width", "96",
    ]

    @Test("sample --steps 0 or -3 fails naming the flag and writes nothing", arguments: ["0", "-3"])
    func sampleRejectsZeroSteps(_ steps: String) {
        for base in [Self.sdxlSample, Self.fluxSample] {
            let output = CLITests.temporaryPath("latents.safetensors")
            let message = PruneCommandTests.failureMessage(base + ["--steps=\(steps)", "--output", output])
            #expect(message == "--steps must be at least 1, got \(steps)", "\(base[2])")
            #expect(!FileManager.default.fileExists(atPath: output))
        }
    }

    @Test("prune --steps 0 fails before any work, naming the flag, and leaves no output or checkpoint")
    func pruneRejectsZeroSteps() {
        let out = CLITests.temporaryPath("pruned")
        var arguments = PruneCommandTests.sdxlArguments(criterion: "ecodiff", target: "0.2", out: out)
        arguments[arguments.firstIndex(of: "--steps")! + 1] = "0"
        #expect(PruneCommandTests.failureMessage(arguments) == "--steps must be at least 1, got 0")
        arguments[arguments.firstIndex(of: "--steps")! + 1] = "2"
        #expect(PruneCommandTests.failureMessage(arguments + ["--epochs", "0"]) == "--epochs must be at least 1, got 0")
        #expect(!FileManager.default.fileExists(atPath: out))
        #expect(!FileManager.default.fileExists(atPath: EcoDiffCheckpoint.defaultPath(forOutput: out)))
    }

    @Test("every scheduler preset asked for zero steps throws invalidStepCount", arguments: SchedulerPreset.allCases)
    func presetsRejectZeroSteps(_ preset: SchedulerPreset) {
        #expect(throws: SchedulerError.invalidStepCount(0, reason: "a schedule needs at least one inference step")) {
            _ = try preset.makeScheduler(steps: 0, imageSequenceLength: 4096)
        }
        #expect(
            SchedulerError.invalidStepCount(0, reason: "a schedule needs at least one inference step").description
                == "cannot set 0 inference steps: a schedule needs at least one inference step")
    }

    @Test("the SDXL sampler refuses zero steps with the scheduler's error")
    func sdxlSamplerRejectsZeroSteps() throws {
        let unet = try UNet2DConditionModel.load(directory: Fixtures.path("sdxl-small")).model
        let embeddings = try SafetensorsFile.open(Fixtures.path("sdxl-small/sampling.safetensors"))
        #expect(throws: SchedulerError.invalidStepCount(0, reason: "a schedule needs at least one inference step")) {
            _ = try SDXLSampler(
                unet: unet, scheduler: try SchedulerPreset.sdxlBase.configuration.makeScheduler(), steps: 0, guidanceScale: 5,
                conditioning: SDXLConditioning(
                    promptEmbeds: try embeddings.tensor("prompt_embeds"),
                    pooledPromptEmbeds: try embeddings.tensor("pooled_prompt_embeds")),
                microConditioning: SDXLMicroConditioning(height: 64, width: 64))
        }
    }

    @Test("SDXL and FLUX trajectories of zero steps are a badSetting naming the step count", arguments: ["sdxl-small", "flux-small"])
    func trajectoriesRejectZeroSteps(_ fixture: String) throws {
        let model = try Architectures.loadModel(directory: Fixtures.path(fixture))
        let prompt = try #require(
            try PruneCalibration.Embeddings(path: Fixtures.path("\(fixture)/sampling.safetensors")).conditionings(for: model).first)
        for steps in [0, -1] {
            #expect(throws: PrunableModelError.badSetting("steps must be at least 1, got \(steps)")) {
                let settings = TrajectorySettings(
                    scheduler: fixture.hasPrefix("sdxl") ? .sdxlBase : .fluxDev, steps: steps, height: 64, width: 64)
                _ = try model.trajectory(conditioning: prompt, settings: settings, seed: 0)
            }
        }
    }
}
