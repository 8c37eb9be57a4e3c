import ArgumentParser
import Foundation
import PruneKit
import PruneTensor
import PruneTestSupport
import Testing

@testable import prunekit

/// `prunekit prune` and `prunekit criteria` on the fixture models.
@Suite struct PruneCommandTests {
    static func run(_ arguments: [String]) throws {
        var command = try PruneKitCommand.parseAsRoot(arguments)
        try command.run()
    }

    static func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-prune-\(UUID().uuidString)-\(name)").path
    }

    static func sdxlArguments(criterion: String, target: String, out: String) -> [String] {
        [
            "prune", "--model", Fixtures.path("sdxl-small"), "--criterion", criterion, "--target", target,
            "--embeddings", Fixtures.path("sdxl-small/sampling.safetensors"), "--preset", "sdxl-base", "--steps", "2",
            "--height", "64", "--width", "64", "--seed", "7", "--out", out,
        ]
    }

    /// The message a failed parse or run reports, as the `prunekit` executable prints it.
    static func failureMessage(_ arguments: [String]) -> String? {
        do {
            try run(arguments)
            return nil
        } catch {
            return PruneKitCommand.message(for: error)
        }
    }

    @Test("criteria lists the five built-in criteria with their summaries")
    func criteriaListsBuiltIns() throws {
        let lines = CriteriaCommand.lines()
        #expect(lines.count == 5)
        for name in ["magnitude", "random", "taylor", "activation", "ecodiff"] {
            #expect(lines.contains { $0.hasPrefix(name + " ") })
        }
        for criterion in CriterionRegistry.shared.all {
            #expect(lines.contains { $0.hasSuffix(criterion.summary) })
        }
        try Self.run(["criteria"])
    }

    @Test("prune with magnitude exports an SDXL model that params loads smaller and forward runs")
    func pruneMagnitudeSDXL() throws {
        let out = Self.temporaryPath("sdxl-magnitude")
        let output = Self.temporaryPath("forward.safetensors")
        defer { for path in [out, output] { try? FileManager.default.removeItem(atPath: path) } }
        try Self.run(Self.sdxlArguments(criterion: "magnitude", target: "0.3", out: out))

        let original = try ParamsCommand.parse(["--model", Fixtures.path("sdxl-small")]).accounting()
        let pruned = try ParamsCommand.parse(["--model", out]).accounting()
        #expect(pruned.parameters < original.parameters)
        #expect(pruned.heads + pruned.ffnNeurons < original.heads + original.ffnNeurons)

        let manifest = try JSONSerialization.jsonObject(
            with: try Data(contentsOf: URL(fileURLWithPath: out).appendingPathComponent(ExportManifest.fileName))) as? [String: Any]
        #expect(manifest?["criterion"] as? String == "magnitude")
        #expect(manifest?["target"] as? Double == 0.3)

        try Self.run([
            "forward", "--model", out, "--inputs", Fixtures.path("sdxl-small/inputs.safetensors"), "--output", output,
        ])
        let result = try SafetensorsFile.open(output).tensor("output")
        let values = result.scalars()
        #expect(values.allSatisfy { $0.isFinite })
    }

    @Test("prune --target-kind model removes that share of the whole model's parameters, and refuses more than is maskable")
    func pruneModelFraction() throws {
        let out = Self.temporaryPath("sdxl-model-fraction")
        defer { try? FileManager.default.removeItem(atPath: out) }
        try Self.run(Self.sdxlArguments(criterion: "magnitude", target: "0.1", out: out) + ["--target-kind", "model"])
        let original = try ParamsCommand.parse(["--model", Fixtures.path("sdxl-small")]).accounting()
        let pruned = try ParamsCommand.parse(["--model", out]).accounting()
        let removed = Double(original.parameters - pruned.parameters) / Double(original.parameters)
        // 10 % of the whole model, give or take the last unit taken.
        #expect(abs(removed - 0.1) < 0.01, "removed \(removed) of the model")

        let refused = Self.temporaryPath("sdxl-model-too-much")
        let message = Self.failureMessage(Self.sdxlArguments(criterion: "magnitude", target: "0.99", out: refused) + ["--target-kind", "model"])
        #expect(message?.contains("0.99 of the model's parameters exceeds what its eligible units hold") == true, "\(message ?? "no error")")
        #expect(!FileManager.default.fileExists(atPath: refused))
    }

    @Test("prune with ecodiff for one epoch of two steps exports a FLUX model")
    func pruneEcoDiffFlux() throws {
        let out = Self.temporaryPath("flux-ecodiff")
        defer { try? FileManager.default.removeItem(atPath: out) }
        try Self.run([
            "prune", "--model", Fixtures.path("flux-tiny"), "--criterion", "ecodiff", "--target", "0.2",
            "--target-kind", "units", "--scope", "per-module", "--embeddings", Fixtures.path("flux-tiny/sampling.safetensors"),
            "--preset", "flux-schnell", "--steps", "2", "--height", "64", "--width", "64", "--epochs", "1", "--out", out,
        ])
        let original = try ParamsCommand.parse(["--model", Fixtures.path("flux-tiny")]).accounting()
        let pruned = try ParamsCommand.parse(["--model", out]).accounting()
        #expect(pruned.parameters < original.parameters)
        #expect(FileManager.default.fileExists(atPath: URL(fileURLWithPath: out).appendingPathComponent("masks.safetensors").path))
    }

    @Test("prune splits a multi-prompt embeddings file into one calibration sample per prompt")
    func pruneSplitsPrompts() throws {
        let embeddings = Self.temporaryPath("three-prompts.safetensors")
        defer { try? FileManager.default.removeItem(atPath: embeddings) }
        let source = try SafetensorsFile.open(Fixtures.path("flux-tiny/sampling.safetensors"))
        let prompt = try source.tensor("prompt_embeds")
        let pooled = try source.tensor("pooled_prompt_embeds")
        try SafetensorsWriter.write(
            ["prompt_embeds": concatenate([prompt, prompt * 0.5, prompt * 2], axis: 0),
             "pooled_prompt_embeds": concatenate([pooled, pooled, pooled], axis: 0)],
            to: embeddings)
        let file = try PruneCalibration.Embeddings(path: embeddings)
        #expect(file.count == 3)
        let flux = try Architectures.loadModel(directory: Fixtures.path("flux-tiny"))
        let samples = try flux.calibrationSamples(
            prompts: try file.conditionings(for: flux),
            settings: TrajectorySettings(scheduler: .fluxSchnell, steps: 2, guidanceScale: 0, height: 64, width: 64), seed: 3)
        #expect(samples.count == 3)
        #expect(samples.allSatisfy { $0.noise.shape == [1, 16, 4] && $0.target.shape == [1, 16, 4] })
        #expect(samples[0].noise.scalars() != samples[1].noise.scalars())
    }

    @Test("prune rejects an unknown criterion, listing the known ones, and leaves no output directory")
    func pruneRejectsUnknownCriterion() {
        let out = Self.temporaryPath("unknown")
        let message = Self.failureMessage(Self.sdxlArguments(criterion: "nope", target: "0.2", out: out))
        #expect(message?.contains("unknown pruning criterion 'nope'") == true)
        #expect(message?.contains("magnitude, random, taylor, activation, ecodiff") == true)
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test("prune rejects a target outside [0, 1] and leaves no output directory")
    func pruneRejectsTargetOutOfRange() {
        let out = Self.temporaryPath("target")
        let message = Self.failureMessage(Self.sdxlArguments(criterion: "magnitude", target: "1.5", out: out))
        #expect(message?.contains("--target must be a fraction in [0, 1], got 1.5") == true)
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test("prune rejects an unknown preset and a missing embeddings file")
    func pruneRejectsBadPresetAndEmbeddings() {
        let out = Self.temporaryPath("bad")
        var arguments = Self.sdxlArguments(criterion: "magnitude", target: "0.2", out: out)
        arguments[arguments.firstIndex(of: "sdxl-base")!] = "sdxl-huge"
        #expect(Self.failureMessage(arguments)?.contains("unknown preset 'sdxl-huge'") == true)
        arguments = Self.sdxlArguments(criterion: "magnitude", target: "0.2", out: out)
        arguments[arguments.firstIndex(of: Fixtures.path("sdxl-small/sampling.safetensors"))!] = "/nonexistent.safetensors"
        #expect(Self.failureMessage(arguments)?.contains("/nonexistent.safetensors not found") == true)
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
