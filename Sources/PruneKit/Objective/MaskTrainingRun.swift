import Foundation
import PruneNN
import PruneTensor

/// Where and how often a mask-learning run saves its state, and whether to continue from it.
public struct MaskTrainingCheckpointing: Sendable {
    /// The checkpoint file (``MaskTrainingCheckpoint``).
    public var path: String
    /// Save after every this many optimizer steps (0: never).
    public var everySteps: Int
    /// Continue from the file if it exists.
    public var resume: Bool
    /// Settings a resumed run must share with the one that wrote the file.
    public var identity: [String: String]

    public init(path: String, everySteps: Int, resume: Bool, identity: [String: String]) {
        self.path = path
        self.everySteps = everySteps
        self.resume = resume
        self.identity = identity
    }
}

/// One mask-learning iteration (one calibration prompt) of a run.
public struct MaskTrainingIteration: Sendable {
    /// 1-based over the whole run (resumed runs continue the count); of `total`.
    public var iteration: Int
    public var total: Int
    /// 0-based position of the prompt just learned from.
    public var epoch: Int
    public var prompt: Int
    /// The loss terms of the iteration.
    public var loss: Float
    public var reconstruction: Float
    public var penalty: Float
    /// Share of units whose λ is positive after the iteration.
    public var kept: Double
}

/// How a criterion that learns masks should train, as every caller states it (the CLI's `--epochs`,
/// `--learning-rate`, `--penalty-weight`, `--checkpoint*` and `--resume`, or an SDK user): part of every
/// ``ScoringContext``, so any criterion — built in, registered at run time, or an SDK user's — is configured
/// the same way. Criteria that learn nothing ignore it. Unset fields leave the criterion's own settings.
public struct MaskTrainingOptions {
    /// Passes over the calibration prompts.
    public var epochs: Int?
    /// One learning rate for every unit kind.
    public var learningRate: Float?
    /// The sparsity penalty's weight β.
    public var penaltyWeight: Float?
    /// β of single unit kinds, in place of ``penaltyWeight`` (and of the criterion's own β) for those kinds.
    public var kindPenaltyWeights: [UnitKind: Float]
    /// Prompts whose gradients make one optimizer step (``MaskTrainingSchedule/accumulationSteps``; EcoDiff: 4).
    /// A data-parallel run keeps at most this many ranks busy in mask learning.
    public var promptsPerStep: Int?
    /// Periodic snapshots and resume; `nil`: none.
    public var checkpointing: MaskTrainingCheckpointing?
    /// Called after every iteration (after ``ScoringContext/progress``); may throw to stop the run, which keeps
    /// its last snapshot.
    public var onIteration: (MaskTrainingIteration) throws -> Void

    public init(
        epochs: Int? = nil, learningRate: Float? = nil, penaltyWeight: Float? = nil, kindPenaltyWeights: [UnitKind: Float] = [:],
        promptsPerStep: Int? = nil,
        checkpointing: MaskTrainingCheckpointing? = nil, onIteration: @escaping (MaskTrainingIteration) throws -> Void = { _ in }
    ) {
        precondition(promptsPerStep.map { $0 >= 1 } ?? true, "at least one prompt per optimizer step")
        self.epochs = epochs
        self.learningRate = learningRate
        self.penaltyWeight = penaltyWeight
        self.kindPenaltyWeights = kindPenaltyWeights
        self.promptsPerStep = promptsPerStep
        self.checkpointing = checkpointing
        self.onIteration = onIteration
    }
}

extension MaskTrainer {
    /// Learns λ on `samples` with progress events, periodic snapshots and resume — the one training loop every
    /// mask-learning criterion shares (EcoDiff's, a plugin's, an SDK user's).
    ///
    /// With `checkpointing.resume` and an existing file, λ and the optimizer state are restored from it and
    /// training continues at the saved (epoch, prompt). Each iteration is reported to `progress` (loss terms,
    /// kept share, position; `total` counts the whole run) and to `onIteration` (which may throw to stop the
    /// run: the last snapshot stays). Every `checkpointing.everySteps` optimizer steps a
    /// ``MaskTrainingCheckpoint`` is written atomically; the file is removed once training completes.
    ///
    /// With a distributed `shard` (see ``train(_:shard:fromEpoch:prompt:onPrompt:)``) `samples` are this rank's;
    /// every rank reads a resumed checkpoint (its path must be visible to all), and rank 0 alone writes snapshots
    /// and removes the file at the end. Progress and `onIteration` run on every rank with the same values.
    ///
    /// - Parameter criterion: the criterion's name, for progress and errors.
    /// - Returns: λ by module key, `[units]` each.
    /// - Throws: ``CriterionError/missingCalibration(criterion:)``, ``CriterionError/nonFiniteLoss(criterion:value:epoch:prompt:checkpoint:)``
    ///   (the last snapshot is kept), ``MaskTrainingCheckpointError`` for a snapshot of another run, training errors.
    public mutating func run<Trajectory: DenoisingTrajectory>(
        _ samples: [CalibrationSample<Trajectory>], shard: CalibrationShard? = nil, criterion: String,
        checkpointing: MaskTrainingCheckpointing? = nil, progress: (ScoringProgress) -> Void = { _ in },
        onIteration: (MaskTrainingIteration) throws -> Void = { _ in }
    ) throws -> [String: [Float]] {
        let shard = shard ?? .single(promptCount: samples.count)
        guard shard.promptCount > 0 else { throw CriterionError.missingCalibration(criterion: criterion) }
        let masks = self.masks
        let prompts = shard.promptCount
        let writesFiles = shard.group.isLeader
        var (firstEpoch, firstPrompt) = (0, 0)
        if let checkpointing, checkpointing.resume, FileManager.default.fileExists(atPath: checkpointing.path) {
            let saved = try MaskTrainingCheckpoint.load(path: checkpointing.path, expecting: checkpointing.identity)
            try masks.assign(saved.lambdas)
            try optimizer.load(saved.optimizer)
            (firstEpoch, firstPrompt) = (saved.nextEpoch, saved.nextPrompt)
            progress(
                ScoringProgress(
                    criterion: criterion, completed: 0, total: 0,
                    message: "resuming from \(checkpointing.path) at epoch \(firstEpoch + 1) prompt \(firstPrompt + 1)"))
        }
        let total = schedule.epochs * prompts
        var completed = firstEpoch * prompts + firstPrompt
        var stepsSinceSave = 0
        progress(
            ScoringProgress(
                criterion: criterion, completed: 0, total: 0,
                message: "training \(masks.unitCount) masks, \(schedule.epochs) epochs × \(prompts) prompts"))
        try train(samples, shard: shard, fromEpoch: firstEpoch, prompt: firstPrompt) { event in
            completed += 1
            let iteration = MaskTrainingIteration(
                iteration: completed, total: total, epoch: event.epoch, prompt: event.prompt, loss: event.value.total,
                reconstruction: event.value.reconstruction, penalty: event.value.penalty, kept: Self.keptFraction(masks))
            try onIteration(iteration)  // may stop the run: the last checkpoint stays
            progress(
                ScoringProgress(
                    criterion: criterion, completed: completed, total: total,
                    message: "epoch \(event.epoch + 1) prompt \(event.prompt + 1): loss \(Self.format(iteration.loss)) = reconstruction "
                        + "\(Self.format(iteration.reconstruction)) + penalty \(Self.format(iteration.penalty)); kept \(String(format: "%.3f", iteration.kept))"))
            guard event.value.total.isFinite else {
                throw CriterionError.nonFiniteLoss(
                    criterion: criterion, value: event.value.total, epoch: event.epoch, prompt: event.prompt,
                    checkpoint: checkpointing.flatMap { FileManager.default.fileExists(atPath: $0.path) ? $0.path : nil })
            }
            if writesFiles, let checkpointing, let optimizerState = event.optimizerState, checkpointing.everySteps > 0 {
                stepsSinceSave += 1
                if stepsSinceSave >= checkpointing.everySteps {
                    stepsSinceSave = 0
                    let next = event.prompt + 1 == prompts ? (event.epoch + 1, 0) : (event.epoch, event.prompt + 1)
                    try MaskTrainingCheckpoint(
                        lambdas: masks.lambdas, optimizer: optimizerState, nextEpoch: next.0, nextPrompt: next.1,
                        identity: checkpointing.identity
                    ).write(to: checkpointing.path)
                }
            }
        }
        masks.zeroGradients()
        if writesFiles, let checkpointing { try? FileManager.default.removeItem(atPath: checkpointing.path) }
        return masks.lambdas.mapValues { $0.scalars() }
    }

    /// The share of units whose λ is positive (open under the default binarisation at 0).
    public static func keptFraction(_ masks: MaskSet) -> Double {
        var kept = 0
        var all = 0
        for lambda in masks.lambdas.values {
            let values = lambda.scalars()
            kept += values.filter { $0 > 0 }.count
            all += values.count
        }
        return all == 0 ? 1 : Double(kept) / Double(all)
    }

    private static func format(_ value: Float) -> String { String(format: "%.5g", value) }
}

extension ScoringContext {
    /// Runs `trainer` on this context's calibration samples with its ``training`` options (snapshots, resume,
    /// `onIteration`) and ``progress``: what a mask-learning criterion calls from ``PruningCriterion/scores(in:)``.
    /// - Returns: λ by module key, `[units]` each.
    /// - Throws: as ``MaskTrainer/run(_:shard:criterion:checkpointing:progress:onIteration:)``.
    public func trainMasks(_ trainer: inout MaskTrainer, criterion: String) throws -> [String: [Float]] {
        try trainer.run(
            calibration, shard: calibrationShard, criterion: criterion, checkpointing: training.checkpointing, progress: progress,
            onIteration: training.onIteration)
    }
}

/// The checkpointing settings' name from when only EcoDiff trained masks.
public typealias EcoDiffCheckpointing = MaskTrainingCheckpointing
/// The iteration's name from when only EcoDiff trained masks.
public typealias EcoDiffIteration = MaskTrainingIteration
