import Foundation
import PruneKit
import PruneNN
import PruneTensor
import PruneTestSupport
import Testing

@testable import prunekit

/// `prunekit prune` end to end with every built-in criterion, on an SDXL and a FLUX fixture: the export
/// reloads, is smaller, and computes what the original computes under the export's own masks.
@Suite struct PruneEveryCriterionTests {
    struct Case: CustomStringConvertible, Sendable {
        var fixture: String
        var criterion: String
        var preset: String
        var inputs: String
        var description: String { "\(criterion) on \(fixture)" }
    }

    static let cases: [Case] = ["magnitude", "random", "taylor", "activation", "ecodiff"].flatMap { criterion in
        [
            Case(fixture: "sdxl-small", criterion: criterion, preset: "sdxl-base", inputs: "sdxl-small/inputs.safetensors"),
            Case(fixture: "flux-tiny", criterion: criterion, preset: "flux-schnell", inputs: "flux-tiny/inputs.safetensors"),
        ]
    }

    @Test("every criterion prunes the fixture, and the export matches the masked original within 1e-5", arguments: cases)
    func exportMatchesMaskedOriginal(_ testCase: Case) throws {
        let out = PruneCommandTests.temporaryPath("\(testCase.fixture)-\(testCase.criterion)")
        let original = PruneCommandTests.temporaryPath("original.safetensors")
        let pruned = PruneCommandTests.temporaryPath("pruned.safetensors")
        defer { for path in [out, original, pruned] { try? FileManager.default.removeItem(atPath: path) } }
        try PruneCommandTests.run([
            "prune", "--model", Fixtures.path(testCase.fixture), "--criterion", testCase.criterion, "--target", "0.3",
            "--embeddings", Fixtures.path("\(testCase.fixture)/sampling.safetensors"), "--preset", testCase.preset,
            "--steps", "2", "--height", "64", "--width", "64", "--epochs", "1", "--seed", "5", "--out", out,
        ])
        let before = try ParamsCommand.parse(["--model", Fixtures.path(testCase.fixture)]).accounting()
        let after = try ParamsCommand.parse(["--model", out]).accounting()
        #expect(after.parameters < before.parameters)

        let masks = URL(fileURLWithPath: out).appendingPathComponent("masks.safetensors").path
        try PruneCommandTests.run([
            "forward", "--model", Fixtures.path(testCase.fixture), "--inputs", Fixtures.path(testCase.inputs), "--masks", masks,
            "--output", original,
        ])
        try PruneCommandTests.run(["forward", "--model", out, "--inputs", Fixtures.path(testCase.inputs), "--output", pruned])
        let expected = try SafetensorsFile.open(original).tensor("output")
        let actual = try SafetensorsFile.open(pruned).tensor("output")
        #expect(actual.shape == expected.shape)
        #expect(maximumRelativeError(actual, expected) < 1e-5)
    }

    @Test("prune --preset builds the preset's denoiser from the seed and prunes it without a model directory")
    func pruneModelPreset() throws {
        let out = PruneCommandTests.temporaryPath("sdxl-tiny-preset")
        defer { try? FileManager.default.removeItem(atPath: out) }
        try PruneCommandTests.run([
            "prune", "--preset", "sdxl-tiny", "--criterion", "ecodiff", "--target", "0.25", "--random-prompts", "2",
            "--steps", "2", "--height", "64", "--width", "64", "--epochs", "1", "--seed", "3", "--out", out,
        ])
        let full = try ParamsCommand.parse(["--preset", "sdxl-tiny"]).accounting()
        let pruned = try ParamsCommand.parse(["--model", out]).accounting()
        #expect(pruned.parameters < full.parameters)
        #expect(pruned.heads + pruned.ffnNeurons < full.heads + full.ffnNeurons)
    }

    @Test("prune without calibration prompts names the missing flag for a criterion that needs them")
    func pruneNeedsPrompts() {
        let out = PruneCommandTests.temporaryPath("no-prompts")
        let message = PruneCommandTests.failureMessage([
            "prune", "--preset", "sdxl-tiny", "--criterion", "taylor", "--target", "0.2", "--out", out,
        ])
        #expect(message?.contains("criterion taylor needs calibration prompts: give --embeddings FILE") == true)
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test("prune without --model needs a model preset, not only a scheduler preset")
    func pruneNeedsModelPreset() {
        let message = PruneCommandTests.failureMessage([
            "prune", "--preset", "sdxl-lightning-1step", "--criterion", "magnitude", "--target", "0.2",
            "--out", PruneCommandTests.temporaryPath("x"),
        ])
        #expect(message?.contains("without --model, --preset must name a model preset") == true)
        // With neither --model nor --preset, prune takes the embedded demo model (DemoPruneTests).
    }
}

/// `--prompts` needs a model with its own text encoder.
@Suite struct PruneTextPromptsTests {
    @Test("prune --prompts on a bare denoiser says to give a pipeline or --embeddings instead")
    func promptsNeedTextEncoder() throws {
        let prompts = PruneCommandTests.temporaryPath("prompts.txt")
        let out = PruneCommandTests.temporaryPath("out")
        defer { try? FileManager.default.removeItem(atPath: prompts) }
        try "# calibration\na red circle\n\na blue square\n".write(toFile: prompts, atomically: true, encoding: .utf8)
        #expect(PromptFile.prompts(in: try String(contentsOfFile: prompts, encoding: .utf8)) == ["a red circle", "a blue square"])
        let message = PruneCommandTests.failureMessage([
            "prune", "--model", Fixtures.path("sdxl-small"), "--criterion", "taylor", "--target", "0.2", "--prompts", prompts,
            "--out", out,
        ])
        #expect(message?.contains("--prompts needs text encoders: give --model a diffusers pipeline folder") == true, "\(message ?? "")")
        #expect(message?.contains("is a bare UNet2DConditionModel denoiser") == true && message?.contains("--embeddings") == true)
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
