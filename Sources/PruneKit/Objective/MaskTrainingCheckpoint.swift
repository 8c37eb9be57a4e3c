import Foundation
import PruneNN
import PruneTensor

/// The resumable state of a mask-learning run (``MaskTrainer/run(_:shard:criterion:checkpointing:progress:onIteration:)``,
/// EcoDiff's or any other criterion's), written atomically as one safetensors file after optimizer steps: λ per
/// module (`lambda.<module key>`), the AdamW moments (`exp_avg.…`, `exp_avg_sq.…`), and in the metadata the
/// optimizer step count, the next (epoch, prompt) to run, and the run's identity — model, embeddings, seed, steps
/// and epochs must match for `--resume` to continue it.
public struct MaskTrainingCheckpoint: Sendable {
    static let lambdaPrefix = "lambda."

    /// λ by module key, `[units]` each.
    public var lambdas: [String: Tensor]
    public var optimizer: AdamWState
    /// Where training continues.
    public var nextEpoch: Int
    public var nextPrompt: Int
    /// What the run was started with; a resume with other settings is refused.
    public var identity: [String: String]

    public init(lambdas: [String: Tensor], optimizer: AdamWState, nextEpoch: Int, nextPrompt: Int, identity: [String: String]) {
        self.lambdas = lambdas
        self.optimizer = optimizer
        self.nextEpoch = nextEpoch
        self.nextPrompt = nextPrompt
        self.identity = identity
    }

    /// The default checkpoint path for an output directory: beside it, `<out>.resume.safetensors`.
    public static func defaultPath(forOutput out: String) -> String {
        URL(fileURLWithPath: out).standardizedFileURL.path + ".resume.safetensors"
    }

    /// Writes the checkpoint atomically (creating its folder).
    /// - Throws: file errors.
    public func write(to path: String) throws {
        var tensors = optimizer.tensors
        for (module, lambda) in lambdas { tensors[Self.lambdaPrefix + module] = lambda }
        var metadata = identity
        metadata["prunekit.optimizer_steps"] = String(optimizer.stepCount)
        metadata["prunekit.next_epoch"] = String(nextEpoch)
        metadata["prunekit.next_prompt"] = String(nextPrompt)
        // The checkpoint sits next to the output, whose folder may not exist yet.
        try FileManager.default.createDirectory(
            at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
        try SafetensorsWriter.write(tensors, metadata: metadata, to: path)
    }

    /// Reads a checkpoint and checks it belongs to a run with `identity`.
    /// - Throws: ``MaskTrainingCheckpointError`` naming the file and the first setting that differs; file errors.
    public static func load(path: String, expecting identity: [String: String]) throws -> MaskTrainingCheckpoint {
        let file = try SafetensorsFile.open(path)
        for (key, value) in identity.sorted(by: { $0.key < $1.key }) where file.metadata[key] != value {
            throw MaskTrainingCheckpointError(
                path: path, reason: "was written by a run with \(key) = \(file.metadata[key] ?? "nothing"), this run has \(value)")
        }
        guard let steps = file.metadata["prunekit.optimizer_steps"].flatMap(Int.init),
            let epoch = file.metadata["prunekit.next_epoch"].flatMap(Int.init),
            let prompt = file.metadata["prunekit.next_prompt"].flatMap(Int.init)
        else { throw MaskTrainingCheckpointError(path: path, reason: "is not a prunekit resume checkpoint (no training position)") }
        var lambdas: [String: Tensor] = [:]
        var moments: [String: Tensor] = [:]
        for key in file.keys {
            // Copies: training updates λ and the moments in place.
            let tensor = try file.tensor(key).converted(to: .float32)
            if key.hasPrefix(lambdaPrefix) {
                lambdas[String(key.dropFirst(lambdaPrefix.count))] = tensor
            } else {
                moments[key] = tensor
            }
        }
        return MaskTrainingCheckpoint(
            lambdas: lambdas, optimizer: AdamWState(stepCount: steps, tensors: moments), nextEpoch: epoch,
            nextPrompt: prompt, identity: identity)
    }
}

/// A checkpoint file that cannot continue this run.
public struct MaskTrainingCheckpointError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}

/// The checkpoint's name from when only EcoDiff trained masks; the file format is the same.
public typealias EcoDiffCheckpoint = MaskTrainingCheckpoint
/// The checkpoint error's name from when only EcoDiff trained masks.
public typealias EcoDiffCheckpointError = MaskTrainingCheckpointError
