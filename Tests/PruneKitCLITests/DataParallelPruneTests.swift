import Foundation
import PruneKit
import PruneTensor
import Testing

/// `mpirun -np N prunekit prune …` on loopback: the calibration prompts are sharded over the ranks, the λ
/// gradients (and other criteria's statistics) are summed over them, and the result is the single process's
/// (EcoDiff's λ bit for bit; Taylor's and activation's statistics up to the order of the sums).
/// These tests need Open MPI's `mpirun` (Debian: openmpi-bin, installed by .ci/install-system-packages).
@Suite(.serialized) struct DataParallelPruneTests {
    /// 7 prompts of random conditioning on the tiny SDXL preset: 2 steps, 64 × 64, so each run takes seconds.
    static func arguments(criterion: String, out: String, epochs: Int = 2, prompts: Int = 7) -> [String] {
        [
            "prune", "--preset", "sdxl-tiny", "--criterion", criterion, "--target", "0.25", "--random-prompts", String(prompts),
            "--steps", "2", "--height", "64", "--width", "64", "--epochs", String(epochs), "--seed", "5", "--out", out,
            "--save-scores", out + ".scores.safetensors",
        ]
    }

    /// `mpirun`, found on PATH.
    static var mpirun: String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/mpirun" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Starts `prunekit arguments` as `ranks` MPI ranks on this host.
    static func startRanks(_ ranks: Int, _ arguments: [String], standardError: FileHandle) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(mpirun, "mpirun not found: install openmpi-bin"))
        process.arguments =
            [
                "--allow-run-as-root", "--oversubscribe", "--mca", "btl_vader_single_copy_mechanism", "none",
                "-x", "SWIFT_BACKTRACE=enable=no", "-np", String(ranks), CLIProcess.executable,
            ] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = standardError
        try process.run()
        return process
    }

    /// Runs `prunekit arguments` as `ranks` MPI ranks to completion; returns the exit status and standard error.
    static func runRanks(_ ranks: Int, _ arguments: [String], timeout: TimeInterval = 300) throws -> (status: Int32, error: String) {
        let errorPath = temporaryPath("stderr")
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errorPath) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
        let process = try startRanks(ranks, arguments, standardError: handle)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(2000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try handle.close()
        return (process.terminationStatus, String(decoding: try Data(contentsOf: URL(fileURLWithPath: errorPath)), as: UTF8.self))
    }

    static func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-mpi-\(UUID().uuidString)-\(name)").path
    }

    static func tensors(_ path: String) throws -> [String: [Float]] {
        let file = try SafetensorsFile.open(path)
        return try Dictionary(uniqueKeysWithValues: file.keys.map { ($0, try file.tensor($0).scalars()) })
    }

    /// The largest difference between two score files relative to the largest score: float summation order
    /// is all that may separate them.
    static func relativeDifference(_ a: [String: [Float]], _ b: [String: [Float]]) -> Float {
        let scale = a.values.flatMap { $0 }.map(abs).max() ?? 1
        var largest: Float = 0
        for (key, values) in a {
            guard let other = b[key], other.count == values.count else { return .infinity }
            for (x, y) in zip(values, other) { largest = max(largest, abs(x - y)) }
        }
        return largest / max(scale, .leastNormalMagnitude)
    }

    /// The gradient-flow plugin built next to the test bundle.
    static var gradientFlowPlugin: String {
        URL(fileURLWithPath: CLIProcess.executable).deletingLastPathComponent().appendingPathComponent("libGradientFlow.so").path
    }

    /// `arguments`, with the plugin that provides `criterion` when it is a plugin's.
    static func argumentsLoadingPlugin(criterion: String, out: String) -> [String] {
        arguments(criterion: criterion, out: out) + (criterion == "gradient-flow" ? ["--plugin", gradientFlowPlugin] : [])
    }

    @Test(
        "Each calibrating criterion over 2 and 3 ranks gives the single process's scores and exports its masks",
        arguments: ["ecodiff", "taylor", "activation", "gradient-flow"])
    func ranksMatchTheSingleProcess(criterion: String) throws {
        let single = Self.temporaryPath("single")
        defer { try? FileManager.default.removeItem(atPath: single); try? FileManager.default.removeItem(atPath: single + ".scores.safetensors") }
        let outcome = try CLIProcess.run(Self.argumentsLoadingPlugin(criterion: criterion, out: single))
        try #require(outcome.status == 0, "single process: \(outcome.standardError)")
        let expectedScores = try Self.tensors(single + ".scores.safetensors")
        let expectedMasks = try Self.tensors(single + "/masks.safetensors")
        for ranks in [2, 3] {
            let out = Self.temporaryPath("ranks\(ranks)")
            defer { try? FileManager.default.removeItem(atPath: out); try? FileManager.default.removeItem(atPath: out + ".scores.safetensors") }
            let run = try Self.runRanks(ranks, Self.argumentsLoadingPlugin(criterion: criterion, out: out))
            try #require(run.status == 0, "\(ranks) ranks: \(run.error)")
            #expect(run.error.contains("data-parallel run: \(ranks) ranks"))
            let scores = try Self.tensors(out + ".scores.safetensors")
            if criterion == "ecodiff" {
                // Per-prompt gradients are gathered and added in prompt order on every rank: bit for bit.
                #expect(scores == expectedScores, "\(ranks) ranks")
            } else {
                // Statistics are summed per rank first: equal up to the order of the sums.
                #expect(Self.relativeDifference(expectedScores, scores) <= 1e-6, "\(criterion), \(ranks) ranks")
            }
            #expect(try Self.tensors(out + "/masks.safetensors") == expectedMasks, "\(criterion), \(ranks) ranks")
        }
    }

    @Test("With all 7 prompts in one optimizer step, 3 ranks learn what one process learns with that step, and 4 per step differs")
    func promptsPerStep() throws {
        let single = Self.temporaryPath("single-7")
        let ranks = Self.temporaryPath("ranks-7")
        let paper = Self.temporaryPath("paper")
        defer {
            for path in [single, ranks, paper] {
                try? FileManager.default.removeItem(atPath: path)
                try? FileManager.default.removeItem(atPath: path + ".scores.safetensors")
            }
        }
        let step = ["--prompts-per-step", "7"]
        let outcome = try CLIProcess.run(Self.arguments(criterion: "ecodiff", out: single) + step)
        try #require(outcome.status == 0, "\(outcome.standardError)")
        let run = try Self.runRanks(3, Self.arguments(criterion: "ecodiff", out: ranks) + step)
        try #require(run.status == 0, "\(run.error)")
        #expect(try Self.tensors(ranks + ".scores.safetensors") == Self.tensors(single + ".scores.safetensors"))
        let fourPerStep = try CLIProcess.run(Self.arguments(criterion: "ecodiff", out: paper))
        try #require(fourPerStep.status == 0, "\(fourPerStep.standardError)")
        #expect(try Self.tensors(paper + ".scores.safetensors") != Self.tensors(single + ".scores.safetensors"))
        let refused = try CLIProcess.run(Self.arguments(criterion: "ecodiff", out: paper + "-zero") + ["--prompts-per-step", "0"])
        #expect(refused.status != 0)
        #expect(refused.errorLines == ["Error: --prompts-per-step must be in 1…1000000, got 0"])
    }

    @Test("More ranks than calibration prompts is refused with one error naming both counts")
    func moreRanksThanPrompts() throws {
        let out = Self.temporaryPath("too-many")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let run = try Self.runRanks(3, Self.arguments(criterion: "ecodiff", out: out, prompts: 2))
        #expect(run.status != 0)
        #expect(run.error.contains("3 ranks but 2 calibration prompts"), "\(run.error)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test("A rank killed with SIGKILL ends the run, keeps the last snapshot, and another rank count resumes it to the single process's masks")
    func killedRankResumesWithAnotherRankCount() throws {
        let epochs = 12
        let reference = Self.temporaryPath("reference")
        defer { try? FileManager.default.removeItem(atPath: reference); try? FileManager.default.removeItem(atPath: reference + ".scores.safetensors") }
        let referenceRun = try CLIProcess.run(Self.arguments(criterion: "ecodiff", out: reference, epochs: epochs, prompts: 4))
        try #require(referenceRun.status == 0, "\(referenceRun.standardError)")

        let out = Self.temporaryPath("killed")
        let checkpoint = MaskTrainingCheckpoint.defaultPath(forOutput: out)
        defer {
            for path in [out, out + ".scores.safetensors", checkpoint] { try? FileManager.default.removeItem(atPath: path) }
        }
        let arguments = Self.arguments(criterion: "ecodiff", out: out, epochs: epochs, prompts: 4) + ["--checkpoint-every", "1"]
        let process = try Self.startRanks(2, arguments, standardError: FileHandle.nullDevice)
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: checkpoint), process.isRunning, Date() < deadline { usleep(1000) }
        try #require(process.isRunning, "the run finished before a rank could be killed")
        let ranks = Self.children(of: process.processIdentifier)
        try #require(ranks.count == 2, "expected 2 rank processes under mpirun, found \(ranks)")
        kill(ranks[1], SIGKILL)
        let end = Date().addingTimeInterval(60)
        while process.isRunning, Date() < end { usleep(2000) }
        let stillRunning = process.isRunning
        if stillRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        #expect(!stillRunning, "the other rank kept running after one was killed")
        #expect(process.terminationStatus != 0)
        #expect(Self.children(of: process.processIdentifier).isEmpty)
        #expect(FileManager.default.fileExists(atPath: checkpoint), "the last snapshot must stay")
        #expect(!FileManager.default.fileExists(atPath: out), "a killed run writes no output")

        let resumed = try Self.runRanks(3, arguments + ["--resume"])
        try #require(resumed.status == 0, "\(resumed.error)")
        #expect(resumed.error.contains("resuming from"))
        #expect(!FileManager.default.fileExists(atPath: checkpoint), "a completed run removes its checkpoint")
        #expect(try Self.tensors(out + "/masks.safetensors") == Self.tensors(reference + "/masks.safetensors"))
        #expect(try Self.tensors(out + ".scores.safetensors") == Self.tensors(reference + ".scores.safetensors"))
    }

    /// The process ids whose parent is `parent` (from /proc).
    static func children(of parent: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && Int32(fields[1]) == parent
        }.sorted()
    }
}
