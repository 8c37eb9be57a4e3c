import Foundation
import PruneNN
import PruneTensor

/// Where and how often an EcoDiff run saves its state, and whether to continue from it.
public struct EcoDiffCheckpointing: Sendable {
    /// The checkpoint file (``EcoDiffCheckpoint``).
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

/// One mask-learning iteration (one calibration prompt) of an EcoDiff run.
public struct EcoDiffIteration: Sendable {
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

extension EcoDiffCriterion {
    /// This criterion with an architecture's EcoDiff `settings` (parametrization, objective, per-kind learning
    /// rates), `epochs`, and optionally one learning rate for every unit kind and another penalty weight β.
    public func configured(settings: EcoDiffSettings, epochs: Int, learningRate: Float? = nil, penaltyWeight: Float? = nil) -> EcoDiffCriterion {
        var criterion = self
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

    /// Learns λ on `context`'s calibration samples with this criterion's settings (mask noise seeded by the
    /// context's seed), reporting each iteration to `context.progress` (loss terms, kept share, position) and to
    /// `onIteration` (which may throw to stop the run; the last checkpoint then stays); saves and resumes as
    /// `checkpointing` says (the file is removed once training completes).
    /// - Returns: λ by module key, `[units]` each.
    /// - Throws: ``CriterionError/missingCalibration(criterion:)``, ``CriterionError/nonFiniteLoss(criterion:value:epoch:prompt:checkpoint:)``
    ///   (the last checkpoint is kept), ``EcoDiffCheckpointError`` for a checkpoint of another run, training errors.
    public func learnLambdas(
        in context: ScoringContext, checkpointing: EcoDiffCheckpointing? = nil, onIteration: (EcoDiffIteration) throws -> Void = { _ in }
    ) throws -> [String: [Float]] {
        try context.requireCalibration(for: name)
        let masks = MaskSet(groups: context.groups, parametrization: parametrization, initialValue: initialValue)
        var schedule = self.schedule
        schedule.seed = context.seed
        var trainer = MaskTrainer(
            masks: masks, objective: objective,
            optimizer: MaskTrainer.optimizer(for: masks, learningRates: learningRates, defaultLearningRate: 0.1, weightDecay: weightDecay),
            schedule: schedule)
        let prompts = context.calibration.count
        var (firstEpoch, firstPrompt) = (0, 0)
        if let checkpointing, checkpointing.resume, FileManager.default.fileExists(atPath: checkpointing.path) {
            let saved = try EcoDiffCheckpoint.load(path: checkpointing.path, expecting: checkpointing.identity)
            try masks.assign(saved.lambdas)
            try trainer.optimizer.load(saved.optimizer)
            (firstEpoch, firstPrompt) = (saved.nextEpoch, saved.nextPrompt)
            context.progress(
                ScoringProgress(
                    criterion: name, completed: 0, total: 0,
                    message: "resuming from \(checkpointing.path) at epoch \(firstEpoch + 1) prompt \(firstPrompt + 1)"))
        }
        let total = schedule.epochs * prompts
        var completed = firstEpoch * prompts + firstPrompt
        var stepsSinceSave = 0
        context.progress(
            ScoringProgress(criterion: name, completed: 0, total: 0, message: "training \(masks.unitCount) masks, \(schedule.epochs) epochs × \(prompts) prompts"))
        try trainer.train(context.calibration, fromEpoch: firstEpoch, prompt: firstPrompt) { event in
            completed += 1
            let iteration = EcoDiffIteration(
                iteration: completed, total: total, epoch: event.epoch, prompt: event.prompt, loss: event.value.total,
                reconstruction: event.value.reconstruction, penalty: event.value.penalty, kept: Self.keptFraction(masks))
            try onIteration(iteration)  // may stop the run: the last checkpoint stays
            context.progress(
                ScoringProgress(
                    criterion: name, completed: completed, total: total,
                    message: "epoch \(event.epoch + 1) prompt \(event.prompt + 1): loss \(Self.format(iteration.loss)) = reconstruction "
                        + "\(Self.format(iteration.reconstruction)) + penalty \(Self.format(iteration.penalty)); kept \(String(format: "%.3f", iteration.kept))"))
            guard event.value.total.isFinite else {
                throw CriterionError.nonFiniteLoss(
                    criterion: name, value: event.value.total, epoch: event.epoch, prompt: event.prompt,
                    checkpoint: checkpointing.flatMap { FileManager.default.fileExists(atPath: $0.path) ? $0.path : nil })
            }
            if let checkpointing, let optimizerState = event.optimizerState, checkpointing.everySteps > 0 {
                stepsSinceSave += 1
                if stepsSinceSave >= checkpointing.everySteps {
                    stepsSinceSave = 0
                    let next = event.prompt + 1 == prompts ? (event.epoch + 1, 0) : (event.epoch, event.prompt + 1)
                    try EcoDiffCheckpoint(
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
