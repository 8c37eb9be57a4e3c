import Foundation
import PruneDemo
import PruneKit
import PruneNN
import PruneTensor

/// EcoDiff mask training for `prunekit prune`, run here rather than inside ``EcoDiffCriterion`` so that every
/// prompt reports its loss terms, the kept fraction and an ETA; the learned λ then go to the registry's
/// criterion as ``EcoDiffCriterion/lambdas``.
enum PruneEcoDiff {
    /// `base` (the registry's `ecodiff`) with the architecture's EcoDiff `settings`, `epochs`, and optionally
    /// one learning rate for every unit kind and another penalty weight β.
    static func configured(
        _ base: EcoDiffCriterion, settings: EcoDiffSettings, epochs: Int, learningRate: Float?, penaltyWeight: Float? = nil
    ) -> EcoDiffCriterion {
        var criterion = base
        criterion.parametrization = settings.parametrization
        criterion.objective = settings.objective
        if let penaltyWeight { criterion.objective.penaltyWeight = penaltyWeight }
        criterion.learningRates = settings.learningRates
        if let learningRate {
            criterion.learningRates = Dictionary(uniqueKeysWithValues: UnitKind.allCases.map { ($0, learningRate) })
        }
        criterion.schedule.epochs = epochs
        return criterion
    }

    /// Where and how often training state is saved, and whether to continue from it.
    struct Checkpointing {
        /// The checkpoint file.
        var path: String
        /// Save after every this many optimizer steps (0: never).
        var everySteps: Int
        /// Continue from the file if it exists.
        var resume: Bool
        /// Settings a resumed run must share with the one that wrote the file.
        var identity: [String: String]
    }

    /// Trains λ with `criterion`'s settings on `context`'s calibration samples, printing progress to stderr,
    /// saving and resuming as `checkpointing` says (the file is removed once training completes).
    /// - Returns: the learned λ by module key.
    /// - Parameter onIteration: sees each iteration's loss terms and the kept share (for the report's loss curve).
    static func train(
        _ criterion: EcoDiffCriterion, context: ScoringContext, checkpointing: Checkpointing? = nil,
        onIteration: (LossPoint) -> Void = { _ in }
    ) throws -> [String: [Float]] {
        guard !context.calibration.isEmpty else { throw CriterionError.missingCalibration(criterion: criterion.name) }
        let masks = MaskSet(groups: context.groups, parametrization: criterion.parametrization, initialValue: criterion.initialValue)
        var schedule = criterion.schedule
        schedule.seed = context.seed
        var trainer = MaskTrainer(
            masks: masks, objective: criterion.objective,
            optimizer: MaskTrainer.optimizer(
                for: masks, learningRates: criterion.learningRates, defaultLearningRate: 0.1, weightDecay: criterion.weightDecay),
            schedule: schedule)
        let prompts = context.calibration.count
        var (firstEpoch, firstPrompt) = (0, 0)
        if let checkpointing, checkpointing.resume, FileManager.default.fileExists(atPath: checkpointing.path) {
            let saved = try PruneCheckpoint.load(path: checkpointing.path, expecting: checkpointing.identity)
            try masks.assign(saved.lambdas)
            try trainer.optimizer.load(saved.optimizer)
            (firstEpoch, firstPrompt) = (saved.nextEpoch, saved.nextPrompt)
            printProgress("ecodiff: resuming from \(checkpointing.path) at epoch \(firstEpoch + 1) prompt \(firstPrompt + 1)")
        }
        let total = schedule.epochs * prompts
        let start = Date()
        var completed = firstEpoch * prompts + firstPrompt
        let resumedAt = completed
        var stepsSinceSave = 0
        printProgress("ecodiff: training \(masks.unitCount) masks, \(schedule.epochs) epochs × \(prompts) prompts")
        try trainer.train(context.calibration, fromEpoch: firstEpoch, prompt: firstPrompt) { event in
            completed += 1
            let kept = keptFraction(masks)
            onIteration(
                LossPoint(
                    iteration: completed, total: event.value.total, reconstruction: event.value.reconstruction, penalty: event.value.penalty,
                    kept: kept))
            let elapsed = Date().timeIntervalSince(start)
            let eta = elapsed / Double(completed - resumedAt) * Double(total - completed)
            printProgress(
                "ecodiff: iteration \(completed)/\(total) (epoch \(event.epoch + 1) prompt \(event.prompt + 1)) "
                    + "loss \(format(event.value.total)) = reconstruction \(format(event.value.reconstruction)) "
                    + "+ penalty \(format(event.value.penalty)); kept \(String(format: "%.3f", kept)); "
                    + "ETA \(String(format: "%.0f", eta))s")
            guard event.value.total.isFinite else {
                throw CLIError.badOption(
                    "ecodiff: the loss became \(event.value.total) at epoch \(event.epoch + 1) prompt \(event.prompt + 1); "
                        + (checkpointing.flatMap { FileManager.default.fileExists(atPath: $0.path) ? "the last good state is in \($0.path)" : nil }
                            ?? "no checkpoint was kept"))
            }
            if let checkpointing, let optimizerState = event.optimizerState, checkpointing.everySteps > 0 {
                stepsSinceSave += 1
                if stepsSinceSave >= checkpointing.everySteps {
                    stepsSinceSave = 0
                    let next = event.prompt + 1 == prompts ? (event.epoch + 1, 0) : (event.epoch, event.prompt + 1)
                    try PruneCheckpoint(
                        lambdas: masks.lambdas, optimizer: optimizerState, nextEpoch: next.0, nextPrompt: next.1,
                        identity: checkpointing.identity
                    ).write(to: checkpointing.path)
                }
            }
        }
        masks.zeroGradients()
        if let checkpointing { try? FileManager.default.removeItem(atPath: checkpointing.path) }
        return masks.lambdas.mapValues { $0.scalars() }
    }

    /// The share of units whose λ is positive (open under the default binarisation at 0).
    static func keptFraction(_ masks: MaskSet) -> Double {
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
