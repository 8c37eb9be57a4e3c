import Foundation
import PruneTensor
import PruneTestSupport
import Testing

@testable import prunekit

/// `prune --target 0` exports the model unchanged; `--target 1` removes every maskable unit, and the export
/// still loads and computes exactly what the original computes with every mask closed (a module without
/// units adds zero to the residual).
@Suite struct PruneTargetExtremesTests {
    static let fixtures = ["sdxl-small", "flux-small"]

    static func prune(_ fixture: String, target: String, out: String) throws {
        try CLITests.run(["prune", "--model", Fixtures.path(fixture), "--criterion", "magnitude", "--target", target, "--out", out])
    }

    static func forward(model: String, fixture: String, masks: String? = nil, output: String) throws -> Tensor {
        try CLITests.run(
            ["forward", "--model", model, "--inputs", Fixtures.path("\(fixture)/inputs.safetensors"), "--output", output]
                + (masks.map { ["--masks", $0] } ?? []))
        return try SafetensorsFile.open(output).tensor("output")
    }

    @Test("--target 0 exports every parameter bit for bit and the same forward output", arguments: fixtures)
    func targetZeroKeepsTheModel(_ fixture: String) throws {
        let out = CLITests.temporaryPath("target-0")
        let outputs = [CLITests.temporaryPath("original.safetensors"), CLITests.temporaryPath("export.safetensors")]
        defer { for path in [out] + outputs { try? FileManager.default.removeItem(atPath: path) } }
        try Self.prune(fixture, target: "0", out: out)

        let source = try SafetensorsFile.open(Fixtures.path("\(fixture)/diffusion_pytorch_model.safetensors"))
        let export = try SafetensorsFile.open(out + "/diffusion_pytorch_model.safetensors")
        #expect(export.keys == source.keys)
        for key in source.keys {
            #expect(export.info(key)?.shape == source.info(key)?.shape, "\(key)")
            #expect(try export.tensor(key).scalars().map(\.bitPattern) == source.tensor(key).scalars().map(\.bitPattern), "\(key)")
        }
        let masks = try SafetensorsFile.open(out + "/masks.safetensors")
        for key in masks.keys { #expect(try masks.tensor(key).scalars().allSatisfy { $0 == 1 }, "\(key) is open") }

        let original = try ParamsCommand.parse(["--model", Fixtures.path(fixture)]).accounting()
        #expect(try ParamsCommand.parse(["--model", out]).accounting() == original)
        let expected = try Self.forward(model: Fixtures.path(fixture), fixture: fixture, output: outputs[0])
        let actual = try Self.forward(model: out, fixture: fixture, output: outputs[1])
        #expect(actual.scalars().map(\.bitPattern) == expected.scalars().map(\.bitPattern))
    }

    @Test("--target 1 removes every head and neuron; the export loads and equals the fully masked original", arguments: fixtures)
    func targetOneRemovesEverything(_ fixture: String) throws {
        let out = CLITests.temporaryPath("target-1")
        let outputs = [CLITests.temporaryPath("masked.safetensors"), CLITests.temporaryPath("export.safetensors")]
        defer { for path in [out] + outputs { try? FileManager.default.removeItem(atPath: path) } }
        try Self.prune(fixture, target: "1", out: out)

        let original = try ParamsCommand.parse(["--model", Fixtures.path(fixture)]).accounting()
        let pruned = try ParamsCommand.parse(["--model", out]).accounting()
        #expect(pruned.heads == 0)
        #expect(pruned.ffnNeurons == 0)
        #expect(pruned.parameters < original.parameters)
        let masks = try SafetensorsFile.open(out + "/masks.safetensors")
        #expect(!masks.keys.isEmpty)
        for key in masks.keys { #expect(try masks.tensor(key).scalars().allSatisfy { $0 == 0 }, "\(key) is closed") }

        let masked = try Self.forward(model: Fixtures.path(fixture), fixture: fixture, masks: out + "/masks.safetensors", output: outputs[0])
        let exported = try Self.forward(model: out, fixture: fixture, output: outputs[1])
        #expect(exported.shape == masked.shape)
        #expect(exported.scalars().allSatisfy { $0.isFinite })
        #expect(maximumRelativeError(exported, masked) <= 1e-5)
    }
}
