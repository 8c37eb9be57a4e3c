import Foundation
import PruneKit
import PruneTensor
import PruneTestSupport
import Testing

@testable import prunekit

/// Faults during `prunekit prune`: SIGKILL while the export directory or a checkpoint is being written leaves
/// only complete outputs (or none) plus clearly named hidden temporaries; a NaN loss stops training with a
/// message and keeps the last good checkpoint. (PruneResumeTests covers a kill between checkpoints + --resume.)
@Suite struct PruneFaultTests {
    /// A fresh scratch directory, removed by the caller.
    static func scratchDirectory() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-fault-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Entries of `directory` whose names start with `prefix`.
    static func entries(of directory: String, prefix: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix(prefix) }.sorted()
    }

    /// Starts `prunekit arguments`, SIGKILLs it as soon as an entry starting with `temporaryPrefix` appears in
    /// `directory` (or after `timeout` seconds), and reports whether that entry still existed after the kill —
    /// i.e. the process died mid-write rather than just after its rename.
    static func killWhileWriting(
        _ arguments: [String], directory: String, temporaryPrefix: String, timeout: TimeInterval = 240
    ) throws -> (killedMidWrite: Bool, signaled: Bool) {
        let process = try CLIProcess.start(arguments)
        let deadline = Date().addingTimeInterval(timeout)
        var seen = false
        while process.isRunning, Date() < deadline {
            if !entries(of: directory, prefix: temporaryPrefix).isEmpty {
                kill(process.processIdentifier, SIGKILL)
                seen = true
                break
            }
            usleep(100)
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let stillThere = !entries(of: directory, prefix: temporaryPrefix).isEmpty
        return (seen && stillThere, process.terminationReason == .uncaughtSignal)
    }

    @Test("SIGKILL while the export directory is written leaves no output directory, only a hidden .tmp- sibling")
    func killDuringExport() throws {
        try #require(FileManager.default.isExecutableFile(atPath: CLIProcess.executable), "prunekit not built")
        let directory = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let out = directory + "/pruned"
        // The FLUX bench preset (72 M parameters, a 235 MB export): writing takes long enough to land a kill in it.
        let arguments = ["prune", "--preset", "flux-bench", "--criterion", "magnitude", "--target", "0.2", "--out", out]
        let result = try Self.killWhileWriting(arguments, directory: directory, temporaryPrefix: ".pruned.tmp-")
        try #require(result.signaled, "the run finished before it could be killed")
        #expect(result.killedMidWrite, "the kill landed after the export was renamed into place")
        #expect(!FileManager.default.fileExists(atPath: out), "a killed export must not leave a partial --out directory")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory)
        // SIGKILL cannot be caught: the temporary and the (unheld) lock file stay.
        #expect(leftovers.allSatisfy { $0.hasPrefix(".pruned.tmp-") || $0 == ".pruned.lock" }, "unexpected leftovers: \(leftovers)")

        // The same command then completes, removes the stale temporary, and the export it writes is whole.
        let outcome = try CLIProcess.run(arguments)
        #expect(outcome.status == 0 && !outcome.signaled, "\(outcome.standardError.suffix(300))")
        #expect(outcome.standardError.contains("left behind by an interrupted run"), "\(outcome.standardError.suffix(300))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["pruned"])
        let accounting = try ParamsCommand.parse(["--model", out]).accounting()
        #expect(accounting.parameters > 0 && accounting.heads > 0)
    }

    @Test("SIGKILL while a checkpoint is written leaves the previous complete checkpoint or none, never a torn file")
    func killDuringCheckpointWrite() throws {
        try #require(FileManager.default.isExecutableFile(atPath: CLIProcess.executable), "prunekit not built")
        let directory = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let out = directory + "/out"
        let checkpoint = EcoDiffCheckpoint.defaultPath(forOutput: out)
        let arguments = PruneResumeTests.arguments(out: out, epochs: 400)
        let identity = try PruneCommand.parse(Array(arguments.dropFirst())).checkpointing.identity
        // A checkpoint is written after every optimizer step and lives under its temporary name for well under a
        // millisecond; a few attempts are needed to kill the process inside that window.
        var midWriteKills = 0
        for _ in 0..<20 where midWriteKills == 0 {
            let result = try Self.killWhileWriting(arguments, directory: directory, temporaryPrefix: ".out.resume.safetensors.tmp-")
            try #require(result.signaled, "the run finished before it could be killed")
            if result.killedMidWrite { midWriteKills += 1 }
            #expect(!FileManager.default.fileExists(atPath: out))
            if FileManager.default.fileExists(atPath: checkpoint) {
                // Whatever is under the real name is a complete checkpoint of this run.
                let saved = try EcoDiffCheckpoint.load(path: checkpoint, expecting: identity)
                #expect(!saved.lambdas.isEmpty)
                #expect(saved.lambdas.values.allSatisfy { $0.scalars().allSatisfy { $0.isFinite } })
            }
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory)
            #expect(
                leftovers.allSatisfy {
                    $0 == "out.resume.safetensors" || $0.hasPrefix(".out.resume.safetensors.tmp-") || $0 == ".out.lock"
                        || $0 == ".out.resume.safetensors.lock"
                },
                "unexpected leftovers: \(leftovers)")
            for name in leftovers { try FileManager.default.removeItem(atPath: directory + "/" + name) }
        }
        #expect(midWriteKills > 0, "no kill landed while a checkpoint was being written")
    }

    /// `count` calibration prompts from the flux-tiny fixture (scaled copies of its prompt); prompt `nanPrompt`'s
    /// embeddings hold a NaN.
    static func embeddings(count: Int, nanPrompt: Int, to path: String) throws {
        let source = try SafetensorsFile.open(Fixtures.path("flux-tiny/sampling.safetensors"))
        let prompt = try source.tensor("prompt_embeds")
        let pooled = try source.tensor("pooled_prompt_embeds")
        var prompts = (0..<count).map { prompt * (1 + 0.25 * Float($0)) }
        var poisoned = prompt.scalars()
        poisoned[0] = .nan
        prompts[nanPrompt] = Tensor(poisoned, shape: prompt.shape)
        try SafetensorsWriter.write(
            [
                "prompt_embeds": concatenate(prompts, axis: 0),
                "pooled_prompt_embeds": concatenate([Tensor](repeating: pooled, count: count), axis: 0),
            ], to: path)
    }

    static func ecodiffArguments(embeddings: String, out: String) -> [String] {
        [
            "prune", "--model", Fixtures.path("flux-tiny"), "--criterion", "ecodiff", "--target", "0.3",
            "--embeddings", embeddings, "--preset", "flux-schnell", "--steps", "2", "--height", "64", "--width", "64",
            "--epochs", "2", "--checkpoint-every", "1", "--out", out,
        ]
    }

    @Test("a NaN loss stops ecodiff with a message naming where, and the last good checkpoint stays usable")
    func nanLossKeepsTheLastGoodCheckpoint() throws {
        let directory = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let embeddings = directory + "/prompts.safetensors"
        // EcoDiff steps the optimizer every 4 prompts: prompts 1–4 are clean and end in a step and a checkpoint,
        // prompt 5 is NaN.
        try Self.embeddings(count: 5, nanPrompt: 4, to: embeddings)
        let out = directory + "/out"
        let checkpoint = EcoDiffCheckpoint.defaultPath(forOutput: out)
        let arguments = Self.ecodiffArguments(embeddings: embeddings, out: out)

        let message = PruneCommandTests.failureMessage(arguments)
        #expect(message == "ecodiff: the loss became nan at epoch 1 prompt 5; the last good state is in \(checkpoint)")
        #expect(!FileManager.default.fileExists(atPath: out))
        // The checkpoint is the one written after prompt 4: finite λ, and training would continue at prompt 5.
        let identity = try PruneCommand.parse(Array(arguments.dropFirst())).checkpointing.identity
        let saved = try EcoDiffCheckpoint.load(path: checkpoint, expecting: identity)
        #expect(saved.nextEpoch == 0 && saved.nextPrompt == 4)
        #expect(saved.optimizer.stepCount == 1)
        #expect(!saved.lambdas.isEmpty)
        #expect(saved.lambdas.values.allSatisfy { $0.scalars().allSatisfy { $0.isFinite } })
        #expect(saved.optimizer.tensors.values.allSatisfy { $0.scalars().allSatisfy { $0.isFinite } })
    }

    @Test("a NaN loss on the first iteration, before any checkpoint, stops with a message and writes nothing")
    func nanLossBeforeAnyCheckpoint() throws {
        let directory = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let embeddings = directory + "/prompts.safetensors"
        try Self.embeddings(count: 5, nanPrompt: 0, to: embeddings)
        let out = directory + "/out"
        let checkpoint = EcoDiffCheckpoint.defaultPath(forOutput: out)
        let message = try #require(PruneCommandTests.failureMessage(Self.ecodiffArguments(embeddings: embeddings, out: out)))
        #expect(message.hasPrefix("ecodiff: the loss became nan at epoch 1 prompt 1; "))
        #expect(!FileManager.default.fileExists(atPath: out))
        #expect(!FileManager.default.fileExists(atPath: checkpoint))
        #expect(message.hasSuffix("no checkpoint was kept"), "\(message)")
    }
}
