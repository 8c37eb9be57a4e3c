import ArgumentParser
import Foundation
import PruneKit
import PruneTensor
import PruneTestSupport
import Testing

@testable import prunekit

/// The `prunekit` subcommands, driven through the argument parser as a user would call them.
@Suite struct CLITests {
    /// Parses `arguments` as a `prunekit` command line and runs it.
    static func run(_ arguments: [String]) throws {
        var command = try PruneKitCommand.parseAsRoot(arguments)
        try command.run()
    }

    static func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-cli-\(UUID().uuidString)-\(name)").path
    }

    @Test("params counts SDXL base exactly as the reference")
    func paramsCountsSDXLBase() throws {
        let command = try ParamsCommand.parse(["--preset", "sdxl-base", "--json"])
        let accounting = try command.accounting()
        #expect(accounting.parameters == 2_567_463_684)
        #expect(accounting.heads == 2600)
        #expect(accounting.ffnNeurons == 332_800)
    }

    @Test("params counts FLUX dev and schnell exactly as the reference")
    func paramsCountsFlux() throws {
        let dev = try ParamsCommand.parse(["--preset", "flux-dev"]).accounting()
        #expect(dev == ModelAccounting(parameters: 11_901_408_320, heads: 1368, ffnNeurons: 933_888))
        let schnell = try ParamsCommand.parse(["--preset", "flux-schnell"]).accounting()
        #expect(schnell.parameters == 11_891_178_560)
        // One double and one single block of dev: 64,124,992 outside the blocks + 339,831,296 + 141,591,808.
        let slice = try ParamsCommand.parse(["--preset", "flux-dev-slice"]).accounting()
        #expect(slice == ModelAccounting(parameters: 545_548_096, heads: 48, ffnNeurons: 36_864))
    }

    @Test("FLUX forward and sample reproduce diffusers through the CLI")
    func fluxForwardAndSample() throws {
        let forwardOutput = Self.temporaryPath("flux-out.safetensors")
        let noise = Self.temporaryPath("flux-noise.safetensors")
        let latents = Self.temporaryPath("flux-latents.safetensors")
        defer { for path in [forwardOutput, noise, latents] { try? FileManager.default.removeItem(atPath: path) } }
        try Self.run([
            "forward", "--model", Fixtures.path("flux-small"), "--inputs", Fixtures.path("flux-small/inputs.safetensors"),
            "--masks", Fixtures.path("flux-small/masks.safetensors"), "--output", forwardOutput,
        ])
        let expected = try SafetensorsFile.open(Fixtures.path("flux-small/expected.safetensors"))
        #expect(maximumRelativeError(try SafetensorsFile.open(forwardOutput).tensor("output"), try expected.tensor("masked_output")) <= 1e-4)

        let trace = try SafetensorsFile.open(Fixtures.path("flux-small/sampling.safetensors"))
        try SafetensorsWriter.write(["latents": try trace.tensor("latents")], to: noise)
        try Self.run([
            "sample", "--model", Fixtures.path("flux-small"), "--embeddings", Fixtures.path("flux-small/sampling.safetensors"),
            "--preset", "flux-dev", "--steps", "4", "--height", "64", "--width", "96", "--noise", noise, "--output", latents,
        ])
        #expect(maximumRelativeError(try SafetensorsFile.open(latents).tensor("latents"), try trace.tensor("final")) <= 1e-3)
    }

    @Test("params needs exactly one of --preset and --model")
    func paramsRejectsAmbiguousSource() {
        #expect(throws: (any Error).self) { try ParamsCommand.parse([]) }
        #expect(throws: (any Error).self) {
            try ParamsCommand.parse(["--preset", "sdxl-base", "--model", Fixtures.path("sdxl-tiny")])
        }
    }

    @Test("forward writes diffusers' masked output for the fixture model")
    func forwardWritesMaskedOutput() throws {
        let output = Self.temporaryPath("out.safetensors")
        defer { try? FileManager.default.removeItem(atPath: output) }
        try Self.run([
            "forward", "--model", Fixtures.path("sdxl-small"), "--inputs", Fixtures.path("sdxl-small/inputs.safetensors"),
            "--masks", Fixtures.path("sdxl-small/masks.safetensors"), "--output", output,
        ])
        let written = try SafetensorsFile.open(output).tensor("output")
        let expected = try SafetensorsFile.open(Fixtures.path("sdxl-small/expected.safetensors")).tensor("masked_output")
        #expect(maximumRelativeError(written, expected) <= 1e-4)
    }

    @Test("forward names the missing input and writes nothing")
    func forwardReportsMissingInput() throws {
        let inputs = Self.temporaryPath("inputs.safetensors")
        let output = Self.temporaryPath("out.safetensors")
        defer { try? FileManager.default.removeItem(atPath: inputs) }
        try SafetensorsWriter.write(["sample": Tensor.zeros([1, 4, 8, 8])], to: inputs)
        #expect {
            try Self.run(["forward", "--model", Fixtures.path("sdxl-tiny"), "--inputs", inputs, "--output", output])
        } throws: { error in
            "\(error)".contains("timestep")
        }
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test("sample reproduces diffusers' four-step SDXL latents from the given noise")
    func sampleReproducesDiffusers() throws {
        let fixture = try SafetensorsFile.open(Fixtures.path("sdxl-tiny/sampling.safetensors"))
        let noise = Self.temporaryPath("noise.safetensors")
        let output = Self.temporaryPath("latents.safetensors")
        defer {
            try? FileManager.default.removeItem(atPath: noise)
            try? FileManager.default.removeItem(atPath: output)
        }
        try SafetensorsWriter.write(["latents": try fixture.tensor("noise")], to: noise)
        try Self.run([
            "sample", "--model", Fixtures.path("sdxl-tiny"), "--embeddings", Fixtures.path("sdxl-tiny/sampling.safetensors"),
            "--preset", "sdxl-base", "--steps", "4", "--guidance", "5", "--noise", noise, "--height", "128", "--width", "128",
            "--original-size", "96", "128", "--crop-top-left", "4", "8", "--output", output, "--trace",
        ])
        let written = try SafetensorsFile.open(output)
        #expect(written.keys == ["latents", "trace.0", "trace.1", "trace.2", "trace.3"])
        #expect(maximumRelativeError(try written.tensor("latents"), try fixture.tensor("final")) <= 1e-3)
    }

    @Test("sample from a seed is reproducible")
    func sampleFromSeedIsReproducible() throws {
        let outputs = [Self.temporaryPath("a.safetensors"), Self.temporaryPath("b.safetensors")]
        defer { for path in outputs { try? FileManager.default.removeItem(atPath: path) } }
        for output in outputs {
            try Self.run([
                "sample", "--model", Fixtures.path("sdxl-tiny"), "--embeddings", Fixtures.path("sdxl-tiny/sampling.safetensors"),
                "--preset", "sdxl-turbo", "--steps", "2", "--seed", "7", "--height", "64", "--width", "64", "--output", output,
            ])
        }
        let first = try SafetensorsFile.open(outputs[0]).tensor("latents").scalars()
        let second = try SafetensorsFile.open(outputs[1]).tensor("latents").scalars()
        #expect(first == second)
        #expect(first.allSatisfy { $0.isFinite })
    }

    @Test("An unknown preset is a clear error")
    func unknownPresetIsAnError() {
        #expect {
            try Self.run([
                "sample", "--model", Fixtures.path("sdxl-tiny"), "--embeddings", Fixtures.path("sdxl-tiny/sampling.safetensors"),
                "--preset", "sdxl-nope", "--output", Self.temporaryPath("x"),
            ])
        } throws: { error in
            "\(error)".contains("unknown scheduler preset 'sdxl-nope'")
        }
    }
}
