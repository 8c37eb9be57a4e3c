import Foundation
import PruneKit
import PruneTensor
import PruneTestSupport
import Testing

@testable import prunekit

/// `prunekit prune` killed with SIGKILL after a checkpoint and restarted with `--resume` ends with the same
/// masks as an uninterrupted run with the same seed.
@Suite struct PruneResumeTests {
    /// The `prunekit` executable built next to the test bundle.
    static var executable: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("prunekit").path
    }

    static func arguments(out: String, epochs: Int) -> [String] {
        [
            "prune", "--model", Fixtures.path("flux-tiny"), "--criterion", "ecodiff", "--target", "0.3",
            "--embeddings", Fixtures.path("flux-tiny/sampling.safetensors"), "--preset", "flux-schnell", "--steps", "2",
            "--height", "64", "--width", "64", "--epochs", String(epochs), "--checkpoint-every", "1", "--out", out,
        ]
    }

    @Test("A run killed after a checkpoint resumes to the same masks as an uninterrupted run")
    func killedRunResumesToTheSameMasks() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.executable) else {
            Issue.record("prunekit executable not found at \(Self.executable)")
            return
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-resume-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let epochs = 40
        let reference = directory + "/reference"
        try CLITests.run(Self.arguments(out: reference, epochs: epochs))

        let interrupted = directory + "/interrupted"
        let checkpoint = EcoDiffCheckpoint.defaultPath(forOutput: interrupted)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = Self.arguments(out: interrupted, epochs: epochs)
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: checkpoint), process.isRunning, Date() < deadline { usleep(1000) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try #require(process.terminationReason == .uncaughtSignal, "the run finished before it could be killed")
        #expect(FileManager.default.fileExists(atPath: checkpoint))
        #expect(!FileManager.default.fileExists(atPath: interrupted), "a killed run must leave no output directory")

        try CLITests.run(Self.arguments(out: interrupted, epochs: epochs) + ["--resume"])
        #expect(!FileManager.default.fileExists(atPath: checkpoint), "a completed run removes its checkpoint")
        let expected = try SafetensorsFile.open(reference + "/masks.safetensors")
        let resumed = try SafetensorsFile.open(interrupted + "/masks.safetensors")
        #expect(expected.keys == resumed.keys)
        for key in expected.keys {
            #expect(try expected.tensor(key).scalars() == resumed.tensor(key).scalars(), "\(key)")
        }
    }

    @Test("--resume refuses a checkpoint written with other settings")
    func resumeChecksTheSettings() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-resume-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let out = directory + "/out"
        var identity = try PruneCommand.parse(Array(Self.arguments(out: out, epochs: 2).dropFirst())).checkpointing.identity
        identity["prunekit.seed"] = "99"
        try EcoDiffCheckpoint(
            lambdas: [:], optimizer: .init(stepCount: 1, tensors: [:]), nextEpoch: 1, nextPrompt: 0, identity: identity
        ).write(to: EcoDiffCheckpoint.defaultPath(forOutput: out))
        #expect {
            try CLITests.run(Self.arguments(out: out, epochs: 2) + ["--resume"])
        } throws: { error in
            "\(error)".contains("prunekit.seed = 99, this run has 0")
        }
    }
}
