import ArgumentParser
import Foundation
import PruneKit
import PruneNN
import PruneTensor
import PruneTestSupport
import Testing

@testable import prunekit

/// `prunekit import-ecodiff` as a user runs it: EcoDiff-format λ files in, the release's binary masks out in
/// the `mask.<module key>` format the other commands read; hostile or mismatched files refused with nothing
/// written.
@Suite struct ImportEcoDiffCommandTests {
    static func lambda(_ model: String, _ file: String) -> String { Fixtures.path("ecodiff/\(model)/\(file)") }

    /// A fresh scratch folder.
    static func folder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-ecodiff-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Checks every mask of `output` against case `name` of the fixture's expected masks.
    static func expectCase(_ name: String, model: String, output: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let written = try SafetensorsFile.open(output)
        let expected = try SafetensorsFile.open(Fixtures.path("ecodiff/\(model)/expected.safetensors"))
        let keys = expected.keys.filter { $0.hasPrefix(name + "/mask.") }
        #expect(!keys.isEmpty, sourceLocation: sourceLocation)
        #expect(Set(written.keys) == Set(keys.map { String($0.dropFirst(name.count + 1)) }), sourceLocation: sourceLocation)
        for key in keys {
            let mask = String(key.dropFirst(name.count + 1))
            #expect(try written.tensor(mask).scalars() == expected.tensor(key).scalars(), "\(mask)", sourceLocation: sourceLocation)
        }
    }

    @Test("The release's defaults (global, 0.68 heads, 0.88 neurons) on the sdxl-tiny model give the release's masks")
    func defaults() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let output = folder + "/masks.safetensors"
        try CLITests.run([
            "import-ecodiff", "--attention", Self.lambda("sdxl-tiny", "attn.pt"), "--ffn", Self.lambda("sdxl-tiny", "ff.pt"),
            "--model", Fixtures.path("sdxl-tiny"), "--output", output,
        ])
        try Self.expectCase("global-0.68-0.88", model: "sdxl-tiny", output: output)
        let metadata = try SafetensorsFile.open(output).metadata
        #expect(metadata["prunekit.output"] == "import-ecodiff")
        #expect(metadata["prunekit.ecodiff.scope"] == "global" && metadata["prunekit.ecodiff.ratio"] == "0.68 0.88")
        #expect(metadata["prunekit.ecodiff.attention_sha256"] == (try SHA256Hasher.digest(ofFile: Self.lambda("sdxl-tiny", "attn.pt")).hex))
        #expect(metadata["modules"]?.hasPrefix("[[\"down_blocks.1.attentions.0.transformer_blocks.0.attn1\",4,\"head\"]") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["masks.safetensors"])
    }

    @Test("--preset, --scope local and --ratio (two values or one for both) give the matching release masks")
    func presetScopeRatio() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for (arguments, name) in [(["--scope", "local", "--ratio", "0.5", "0.55"], "local-0.5-0.55"), (["--scope", "local", "--ratio", "1"], "local-1.0-1.0"),
                                  (["--ratio", "0.26", "0.07"], "global-0.26-0.07")] {
            let output = folder + "/\(name).safetensors"
            try CLITests.run([
                "import-ecodiff", "--attention", Self.lambda("sdxl-small", "attn.pt"), "--ffn", Self.lambda("sdxl-small", "ff.pt"),
                "--model", Fixtures.path("sdxl-small"), "--output", output,
            ] + arguments)
            try Self.expectCase(name, model: "sdxl-small", output: output)
        }
        let output = folder + "/preset.safetensors"
        try CLITests.run([
            "import-ecodiff", "--attention", Self.lambda("sdxl-tiny", "attn-legacy.pt"), "--ffn", Self.lambda("sdxl-tiny", "ff.pt"),
            "--preset", "sdxl-tiny", "--scope", "global", "--ratio", "0.77", "0.61", "--output", output,
        ])
        try Self.expectCase("global-0.77-0.61", model: "sdxl-tiny", output: output)
    }

    @Test("forward --masks reads the imported masks, and they change the output")
    func forwardReadsMasks() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try CLITests.run([
            "import-ecodiff", "--attention", Self.lambda("sdxl-tiny", "attn.pt"), "--ffn", Self.lambda("sdxl-tiny", "ff.pt"),
            "--preset", "sdxl-tiny", "--ratio", "0.5", "0.3", "--output", folder + "/masks.safetensors",
        ])
        let inputs = Fixtures.path("sdxl-tiny/inputs.safetensors")
        try CLITests.run(["forward", "--model", Fixtures.path("sdxl-tiny"), "--inputs", inputs, "--output", folder + "/plain.safetensors"])
        try CLITests.run([
            "forward", "--model", Fixtures.path("sdxl-tiny"), "--inputs", inputs, "--masks", folder + "/masks.safetensors",
            "--output", folder + "/masked.safetensors",
        ])
        let plain = try SafetensorsFile.open(folder + "/plain.safetensors").tensor("output")
        let masked = try SafetensorsFile.open(folder + "/masked.safetensors").tensor("output")
        #expect(maximumRelativeError(masked, plain) > 1e-3)
        let loaded = try UnitMasks.load(path: folder + "/masks.safetensors")
        #expect(loaded.byModule.count == 36)
    }

    @Test(
        "A λ file whose pickle names os.system, eval or Popen is refused naming the global, and nothing is written",
        arguments: [
            ("malicious/os-system.pt", "posix.system (os.system)"), ("malicious/os-system-legacy.pt", "posix.system (os.system)"),
            ("malicious/os-system.pkl", "posix.system (os.system)"), ("malicious/builtins-eval.pt", "__builtin__.eval (builtins.eval)"),
            ("malicious/subprocess-popen-legacy.pt", "commands.Popen (subprocess.Popen)"),
        ])
    func maliciousRefused(file: String, global: String) throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for (attention, ffn) in [(Fixtures.path("ecodiff/" + file), Self.lambda("sdxl-tiny", "ff.pt")), (Self.lambda("sdxl-tiny", "attn.pt"), Fixtures.path("ecodiff/" + file))] {
            let outcome = try CLIProcess.run([
                "import-ecodiff", "--attention", attention, "--ffn", ffn, "--preset", "sdxl-tiny", "--output", folder + "/masks.safetensors",
            ])
            #expect(outcome.status == 1 && !outcome.signaled, "\(outcome.standardError)")
            #expect(outcome.errorLines.count == 1)
            #expect(outcome.errorLines.first?.contains("\(Fixtures.path("ecodiff/" + file)): refused global \(global)") == true, "\(outcome.standardError)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty)
        }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/prunekit-payload-ran"))
    }

    @Test("λ files of another model are refused naming the file and the counts; nothing is written")
    func mismatchRefused() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let outcome = try CLIProcess.run([
            "import-ecodiff", "--attention", Self.lambda("sdxl-small", "attn.pt"), "--ffn", Self.lambda("sdxl-small", "ff.pt"),
            "--model", Fixtures.path("sdxl-tiny"), "--output", folder + "/masks.safetensors",
        ])
        #expect(outcome.status == 1)
        #expect(outcome.errorLines.first == "Error: \(Self.lambda("sdxl-small", "attn.pt")): 34 λ vectors, but the model has 24 attention heads modules (EcoDiff saves one per module, in execution order)", "\(outcome.standardError)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty)

        let flux = try CLIProcess.run([
            "import-ecodiff", "--attention", Self.lambda("sdxl-tiny", "attn.pt"), "--ffn", Self.lambda("sdxl-tiny", "ff.pt"),
            "--preset", "flux-bench", "--output", folder + "/masks.safetensors",
        ])
        #expect(flux.status == 1)
        #expect(flux.errorLines.first?.contains("reads SDXL presets only") == true, "\(flux.standardError)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty)
    }

    @Test("Bad command lines are usage errors: both or neither model flag, ratios outside [0, 1], three ratios, an unknown scope")
    func usageErrors() throws {
        let base = ["import-ecodiff", "--attention", Self.lambda("sdxl-tiny", "attn.pt"), "--ffn", Self.lambda("sdxl-tiny", "ff.pt"), "--output", "/tmp/x.safetensors"]
        for extra in [
            [String](), ["--preset", "sdxl-tiny", "--model", Fixtures.path("sdxl-tiny")], ["--preset", "sdxl-tiny", "--ratio", "1.5"],
            ["--preset", "sdxl-tiny", "--ratio", "0.1", "0.2", "0.3"], ["--preset", "sdxl-tiny", "--ratio", "nan"],
            ["--preset", "sdxl-tiny", "--scope", "layer"],
        ] {
            #expect(throws: (any Error).self, "\(extra)") { _ = try PruneKitCommand.parseAsRoot(base + extra) }
        }
    }

    @Test("An existing file that PruneKit did not write is never replaced")
    func foreignOutputKept() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let output = folder + "/masks.safetensors"
        try Data("the user's file".utf8).write(to: URL(fileURLWithPath: output))
        let outcome = try CLIProcess.run([
            "import-ecodiff", "--attention", Self.lambda("sdxl-tiny", "attn.pt"), "--ffn", Self.lambda("sdxl-tiny", "ff.pt"),
            "--preset", "sdxl-tiny", "--output", output, "--overwrite",
        ])
        #expect(outcome.status != 0)
        #expect(try String(contentsOfFile: output, encoding: .utf8) == "the user's file")
    }

    @Test("--output over an input λ file is refused before anything is read, and the file is unchanged")
    func outputOverInput() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.copyItem(atPath: Self.lambda("sdxl-tiny", "attn.pt"), toPath: folder + "/attn.pt")
        let before = try SHA256Hasher.digest(ofFile: folder + "/attn.pt").hex
        let outcome = try CLIProcess.run([
            "import-ecodiff", "--attention", folder + "/attn.pt", "--ffn", Self.lambda("sdxl-tiny", "ff.pt"), "--preset", "sdxl-tiny",
            "--output", folder + "/attn.pt", "--overwrite",
        ])
        #expect(outcome.status == 64)
        #expect(outcome.errorLines.first?.contains("is the same path as the input --attention") == true, "\(outcome.standardError)")
        #expect(try SHA256Hasher.digest(ofFile: folder + "/attn.pt").hex == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["attn.pt"])
    }
}
