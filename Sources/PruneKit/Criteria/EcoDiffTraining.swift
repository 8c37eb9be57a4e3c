import PruneNN
import PruneTensor

extension EcoDiffCriterion {
    /// This criterion with an architecture's EcoDiff `settings` (parametrization, objective, per-kind learning
    /// rates), `epochs`, and optionally one learning rate for every unit kind and another penalty weight β.
    public func configured(settings: EcoDiffSettings, epochs: Int, learningRate: Float? = nil, penaltyWeight: Float? = nil) -> EcoDiffCriterion {
        var criterion = self
        criterion.parametrization = settings.parametrization
        criterion.objective = settings.objective
        criterion.learningRates = settings.learningRates
        criterion.schedule.epochs = epochs
        return criterion.configured(learningRate: learningRate, penaltyWeight: penaltyWeight)
    }

    /// This criterion as `context` asks: the model's EcoDiff settings when the context carries a model (and
    /// ``adaptsToModel``), then the context's ``MaskTrainingOptions`` (epochs, prompts per step, one learning rate, β,
    /// per-kind β) where set.
    public func configured(for context: ScoringContext) -> EcoDiffCriterion {
        var criterion = self
        if adaptsToModel, let model = context.model {
            criterion = criterion.configured(settings: model.ecoDiffSettings, epochs: schedule.epochs)
        }
        if let epochs = context.training.epochs { criterion.schedule.epochs = epochs }
        if let promptsPerStep = context.training.promptsPerStep { criterion.schedule.accumulationSteps = promptsPerStep }
        criterion = criterion.configured(learningRate: context.training.learningRate, penaltyWeight: context.training.penaltyWeight)
        criterion.objective.kindPenaltyWeights.merge(context.training.kindPenaltyWeights) { _, given in given }
        return criterion
    }

    private func configured(learningRate: Float?, penaltyWeight: Float?) -> EcoDiffCriterion {
        var criterion = self
        if let penaltyWeight { criterion.objective.penaltyWeight = penaltyWeight }
        if let learningRate {
            criterion.learningRates = Dictionary(uniqueKeysWithValues: UnitKind.allCases.map { ($0, learningRate) })
        }
        return criterion
    }

    /// The shared ``MaskTrainer`` over fresh masks of `groups` with this criterion's parametrization, objective,
    /// learning rates and schedule (mask noise seeded by `seed`).
    public func makeTrainer(groups: [UnitGroup], seed: UInt64) -> MaskTrainer {
        let masks = MaskSet(groups: groups, parametrization: parametrization, initialValue: initialValue)
        var schedule = self.schedule
        schedule.seed = seed
        return MaskTrainer(
            masks: masks, objective: objective,
            optimizer: MaskTrainer.optimizer(for: masks, learningRates: learningRates, defaultLearningRate: 0.1, weightDecay: weightDecay),
            schedule: schedule)
    }

    /// Learns λ on `context`'s calibration samples with this criterion's settings as they stand (mask noise seeded
    /// by the context's seed) through ``MaskTrainer/run(_:shard:criterion:checkpointing:progress:onIteration:)``:
    /// progress to `context.progress`, each iteration to `onIteration` (which may throw to stop the run; the
    /// last checkpoint then stays), snapshots and resume as `checkpointing` says.
    /// - Returns: λ by module key, `[units]` each.
    /// - Throws: as ``MaskTrainer/run(_:shard:criterion:checkpointing:progress:onIteration:)``.
    public func learnLambdas(
        in context: ScoringContext, checkpointing: MaskTrainingCheckpointing? = nil, onIteration: (MaskTrainingIteration) throws -> Void = { _ in }
    ) throws -> [String: [Float]] {
        try context.requireCalibration(for: name)
        var trainer = makeTrainer(groups: context.groups, seed: context.seed)
        return try trainer.run(
            context.calibration, shard: context.calibrationShard, criterion: name, checkpointing: checkpointing, progress: context.progress, onIteration: onIteration)
    }

    /// The share of units whose λ is positive (``MaskTrainer/keptFraction(_:)``).
    public static func keptFraction(_ masks: MaskSet) -> Double { MaskTrainer.keptFraction(masks) }
}
