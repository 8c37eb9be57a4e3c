import Foundation
import PruneDemo
import PruneKit
import PruneTensor
import PruneTestSupport
import Testing

@testable import prunekit

/// The output-safety rule through the commands, as a user meets it: each mistake that used to destroy a
/// user's files is refused before any work, the inputs' bytes are unchanged afterwards, `--overwrite` replaces
/// only PruneKit's own outputs, concurrent writers of one output cannot both succeed, and an interrupt removes
/// the half-written output.
@Suite struct OutputSafetyCLITests {
    /// A scratch folder holding a copy of the sdxl-tiny fixture model as `model/`.
    static func workspace() throws -> String {
        let root = ResolvedPath(FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-safety-cli-\(UUID().uuidString)").path)!.path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Fixtures.path("sdxl-tiny"), toPath: root + "/model")
        return root
    }

    /// Every regular file under `folder` with its SHA-256, by relative path.
    static func fingerprint(_ folder: String) throws -> [String: String] {
        var result: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(atPath: folder)
        while let name = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: folder + "/" + name, isDirectory: &isDirectory), !isDirectory.boolValue {
                result[name] = try SHA256Hasher.digest(ofFile: folder + "/" + name).hex
            }
        }
        return result
    }

    /// An EcoDiff prune of `model` (2 steps at 64², one epoch), writing `out`.
    static func ecodiff(_ root: String, out: String) -> [String] {
        [
            "prune", "--model", root + "/model", "--criterion", "ecodiff", "--target", "0.2",
            "--embeddings", root + "/model/sampling.safetensors", "--preset", "sdxl-base", "--steps", "2", "--height", "64",
            "--width", "64", "--epochs", "1", "--out", out,
        ]
    }

    static func magnitude(_ root: String, out: String) -> [String] {
        ["prune", "--model", root + "/model", "--criterion", "magnitude", "--target", "0.2", "--out", out]
    }

    @Test("A checkpoint path inside the model folder is refused and the model's weights are untouched")
    func checkpointOverTheModel() throws {
        let root = try Self.workspace()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let before = try Self.fingerprint(root + "/model")
        let outcome = try CLIProcess.run(
            Self.ecodiff(root, out: root + "/out") + ["--checkpoint", root + "/model/diffusion_pytorch_model.safetensors"])
        #expect(outcome.status == 64)
        #expect(outcome.errorLines.first?.contains("--checkpoint \(root)/model/diffusion_pytorch_model.safetensors is inside the input --model") == true, "\(outcome.standardError)")
        #expect(try Self.fingerprint(root + "/model") == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root) == ["model"])
    }

    @Test("--out '' --overwrite is refused and the working directory is untouched")
    func emptyOutput() throws {
        let root = try Self.workspace()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let before = try Self.fingerprint(root)
        for arguments in [
            Self.magnitude(root, out: "") + ["--overwrite"],
            ["recover", "--original", root + "/model", "--pruned", root + "/model", "--random-prompts", "1", "--out", "", "--overwrite"],
            ["train-demo", "--architecture", "sdxl", "--steps", "1", "--out", "", "--overwrite"],
        ] {
            let outcome = try CLIProcess.run(arguments, directory: root)
            #expect(outcome.status == 64, "\(arguments[0]): \(outcome.standardError)")
            #expect(outcome.errorLines.first?.contains("--out is empty") == true, "\(outcome.standardError)")
        }
        #expect(try Self.fingerprint(root) == before)
    }

    @Test("An output equal to the input model, the folder holding it, the working or home directory is refused with --overwrite")
    func outputsOverInputs() throws {
        let root = try Self.workspace()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let home = root + "-home"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: home) }
        let before = try Self.fingerprint(root)
        let cases: [([String], String)] = [
            (Self.magnitude(root, out: root + "/model") + ["--overwrite"], "is the same path as the input --model"),
            (Self.magnitude(root, out: root + "/model/../model/") + ["--overwrite"], "is the same path as the input --model"),
            (Self.magnitude(root, out: root) + ["--overwrite"], "is the working directory"),
            (Self.magnitude(root, out: root + "/..") + ["--overwrite"], "PruneKit never writes over it"),
            (Self.magnitude(root, out: root + "/model/pruned") + ["--overwrite"], "is inside the input --model"),
            (Self.magnitude(root, out: home) + ["--overwrite"], "is your home directory"),
            (Self.ecodiff(root, out: root + "/p") + ["--checkpoint", root + "/p/state.safetensors"], "is inside --out"),
            (["recover", "--original", root + "/model", "--pruned", root + "/model", "--random-prompts", "1", "--out", root + "/model", "--overwrite"],
             "is the same path as the input --original"),
            (["train-demo", "--architecture", "sdxl", "--steps", "1", "--out", home, "--overwrite"], "is your home directory"),
            (["train-demo", "--architecture", "sdxl", "--steps", "1", "--out", "x", "--checkpoint", "x/state.safetensors"], "is inside --out"),
            (["forward", "--model", root + "/model", "--inputs", root + "/model/inputs.safetensors", "--output", root + "/model/inputs.safetensors", "--overwrite"],
             "is inside the input --model"),
            (["sample", "--model", root + "/model", "--embeddings", root + "/model/sampling.safetensors", "--preset", "sdxl-base",
              "--output", root + "/model/sampling.safetensors", "--overwrite"], "is inside the input --model"),
        ]
        for (arguments, message) in cases {
            let outcome = try CLIProcess.run(arguments, environment: ["HOME": home], directory: root)
            #expect(outcome.status == 64, "\(arguments.joined(separator: " ")): \(outcome.standardError)")
            #expect(outcome.errorLines.first?.contains(message) == true, "\(message) not in \(outcome.standardError)")
        }
        #expect(try Self.fingerprint(root) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root) == ["model"])
    }

    @Test("--overwrite replaces a previous export but refuses a folder or file PruneKit did not write, saying what it holds")
    func overwriteOnlyOwnOutputs() throws {
        let root = try Self.workspace()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let user = root + "/mine"
        try FileManager.default.createDirectory(atPath: user, withIntermediateDirectories: true)
        try Data("precious".utf8).write(to: URL(fileURLWithPath: user + "/notes.txt"))
        var outcome = try CLIProcess.run(Self.magnitude(root, out: user) + ["--overwrite"])
        #expect(outcome.status == 1)
        #expect(outcome.errorLines.first?.contains("was not written by PruneKit (it holds notes.txt)") == true, "\(outcome.standardError)")
        #expect(FileManager.default.contents(atPath: user + "/notes.txt") == Data("precious".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: user) == ["notes.txt"])

        let out = root + "/pruned"
        #expect(try CLIProcess.run(Self.magnitude(root, out: out)).status == 0)
        outcome = try CLIProcess.run(Self.magnitude(root, out: out))
        #expect(outcome.status == 1 && outcome.errorLines.first?.contains("already exists (pass --overwrite to replace it)") == true)
        outcome = try CLIProcess.run(Self.magnitude(root, out: out) + ["--overwrite", "--target", "0.5"])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(try ExportManifest.load(directory: out).target == 0.5)

        // A single-file output: forward's --output.
        let inputs = root + "/model/inputs.safetensors"
        let foreign = root + "/foreign.safetensors"
        try FileManager.default.copyItem(atPath: inputs, toPath: foreign)
        let foreignBytes = try Self.fingerprint(root)["foreign.safetensors"]
        outcome = try CLIProcess.run(["forward", "--model", root + "/model", "--inputs", inputs, "--output", foreign, "--overwrite"])
        #expect(outcome.status == 1 && outcome.errorLines.first?.contains("without PruneKit's safetensors marker") == true, "\(outcome.standardError)")
        #expect(try Self.fingerprint(root)["foreign.safetensors"] == foreignBytes)
        let output = root + "/output.safetensors"
        #expect(try CLIProcess.run(["forward", "--model", root + "/model", "--inputs", inputs, "--output", output]).status == 0)
        #expect(try CLIProcess.run(["forward", "--model", root + "/model", "--inputs", inputs, "--output", output]).status == 1)
        #expect(try CLIProcess.run(["forward", "--model", root + "/model", "--inputs", inputs, "--output", output, "--overwrite"]).status == 0)
    }

    @Test("An EcoDiff run refuses a leftover checkpoint unless told to resume it or start over")
    func leftoverCheckpoint() throws {
        let root = try Self.workspace()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let out = root + "/out"
        let checkpoint = EcoDiffCheckpoint.defaultPath(forOutput: out)
        let identity = try PruneCommand.parse(Array(Self.ecodiff(root, out: out).dropFirst())).checkpointing.identity
        try EcoDiffCheckpoint(lambdas: [:], optimizer: .init(stepCount: 1, tensors: [:]), nextEpoch: 1, nextPrompt: 0, identity: identity)
            .write(to: checkpoint)
        var outcome = try CLIProcess.run(Self.ecodiff(root, out: out))
        #expect(outcome.status == 1)
        #expect(outcome.errorLines.first?.contains("holds the state of an interrupted run: pass --resume to continue it, or --overwrite to start over") == true, "\(outcome.standardError)")
        outcome = try CLIProcess.run(Self.ecodiff(root, out: out) + ["--overwrite"])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(!FileManager.default.fileExists(atPath: checkpoint))
    }

    @Test("A second writer of an output that another process holds fails at once, and the first one's output is intact")
    func concurrentWriters() throws {
        let root = try Self.workspace()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let out = root + "/pruned"
        // This test process holds the output, as a running prune would.
        let claim = try OutputGuard.claim([OutputRequest(flag: "--out", path: out, kind: .directory)], inputs: [], overwrite: false)
        let outcome = try CLIProcess.run(Self.magnitude(root, out: out))
        claim.release()
        #expect(outcome.status == 1)
        #expect(outcome.errorLines.first?.contains("--out \(out) is being written by another prunekit process (pid \(getpid()))") == true, "\(outcome.standardError)")
        #expect(!FileManager.default.fileExists(atPath: out))

        // Two real runs at once: exactly one writes the output; the other is refused, whichever comes second.
        let first = try CLIProcess.start(Self.magnitude(root, out: out))
        let second = try CLIProcess.start(Self.magnitude(root, out: out) + ["--target", "0.5"])
        first.waitUntilExit()
        second.waitUntilExit()
        let statuses = [first.terminationStatus, second.terminationStatus]
        #expect(statuses.sorted() == [0, 1], "\(statuses)")
        let manifest = try ExportManifest.load(directory: out)
        #expect(manifest.target == (first.terminationStatus == 0 ? 0.2 : 0.5), "the winner's export is the one in place")
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: root)) == ["model", "pruned"], "no temporaries or locks left")
    }

    @Test("SIGINT, SIGTERM and SIGHUP during an export remove the temporary folder and exit with 128 + the signal", arguments: [SIGINT, SIGTERM, SIGHUP])
    func interruptDuringExport(signalNumber: Int32) throws {
        try #require(FileManager.default.isExecutableFile(atPath: CLIProcess.executable), "prunekit not built")
        let directory = try PruneFaultTests.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let out = directory + "/pruned"
        // The FLUX bench preset's 235 MB export takes long enough to land a signal while it is written.
        let arguments = ["prune", "--preset", "flux-bench", "--criterion", "magnitude", "--target", "0.2", "--out", out]
        let process = try CLIProcess.start(arguments)
        let deadline = Date().addingTimeInterval(240)
        var seen = false
        while process.isRunning, Date() < deadline {
            if !PruneFaultTests.entries(of: directory, prefix: ".pruned.tmp-").isEmpty {
                kill(process.processIdentifier, signalNumber)
                seen = true
                break
            }
            usleep(100)
        }
        process.waitUntilExit()
        try #require(seen, "the export never started")
        if process.terminationStatus == 0 {
            // The signal landed after the rename: the output is whole. Rare; nothing else to check.
            #expect(FileManager.default.fileExists(atPath: out + "/prunekit.json"))
            return
        }
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 128 + signalNumber)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty, "an interrupted export leaves nothing behind")
    }

    @Test("A temporary left by a killed run is removed by the next run that writes the same output")
    func staleTemporaryCleaned() throws {
        let root = try Self.workspace()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/.pruned.tmp-killed/inner", withIntermediateDirectories: true)
        try Data("half".utf8).write(to: URL(fileURLWithPath: root + "/.pruned.tmp-killed/inner/w"))
        let outcome = try CLIProcess.run(Self.magnitude(root, out: root + "/pruned"))
        #expect(outcome.status == 0)
        #expect(outcome.standardError.contains("removed \(root)/.pruned.tmp-killed, left behind by an interrupted run"), "\(outcome.standardError)")
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: root)) == ["model", "pruned"])
    }

    @Test("demo-sample's PNG and JSON carry PruneKit's marker, so --overwrite may replace them and only them")
    func imageOutputsAreMarked() throws {
        let root = try Self.workspace()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let model = try EmbeddedDemoModels.directory(.sdxl)
        let arguments = ["demo-sample", "--model", model, "--prompt", "a red circle on the left", "--steps", "2", "--output", root + "/grid.png", "--json", root + "/scores.json"]
        try CLITests.run(arguments)
        #expect(OutputMarker.isPruneKitFile(root + "/grid.png", format: .png))
        #expect(OutputMarker.isPruneKitFile(root + "/scores.json", format: .json))
        #expect(try PNGFile.read(root + "/grid.png").width > 0, "the marked PNG still decodes")
        #expect(throws: (any Error).self) { try CLITests.run(arguments) }
        try CLITests.run(arguments + ["--overwrite"])
        try PNGFile.write(RGBImage(width: 1, height: 1, bytes: [0, 0, 0]), to: root + "/grid.png")
        try Data(PNGFile.encode(RGBImage(width: 1, height: 1, bytes: [0, 0, 0]), path: "x")).write(to: URL(fileURLWithPath: root + "/foreign.png"))
        #expect(!OutputMarker.isPruneKitFile(root + "/foreign.png", format: .png), "a PNG without the text chunk is not PruneKit's")
        #expect(throws: (any Error).self) {
            try CLITests.run(Array(arguments.dropLast(4)) + ["--output", root + "/foreign.png", "--overwrite"])
        }
    }
}
