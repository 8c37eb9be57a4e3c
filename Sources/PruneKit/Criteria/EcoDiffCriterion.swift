import PruneNN
import PruneTensor

/// EcoDiff's learned mask logits as scores: train one λ per unit with ``MaskTrainer`` on the calibration
/// trajectories (end-to-end reconstruction + sparsity penalty), then score each unit by its λ.
///
/// FFN-neuron and modulation-output λ are clamped to ≥ 0 before ranking; attention-head λ are not.
/// Clamped units tie at 0, and the plan breaks those ties by index.
///
/// The trainer's mask-noise seed is the context's seed (``MaskTrainingSchedule/seed`` is replaced).
/// With ``lambdas`` set, the criterion skips training and scores those λ (e.g. a resumed or loaded mask
/// checkpoint).
///
/// This implementation matches: EcoDiff `binarize` on load (`lambs.clamp(min=0)` for FFN and norm hooks,
/// none for attention), with λ learned by `scripts/train.py` (see ``MaskTrainer``).
///
/// Limitations: the model's weights must be frozen. Training cost is that of ``MaskTrainer``
/// (epochs × prompts × one checkpointed trajectory backward).
public struct EcoDiffCriterion: PruningCriterion {
    public var parametrization: MaskParametrization
    public var objective: EcoDiffObjective
    public var learningRates: [UnitKind: Float]
    public var weightDecay: Float
    public var schedule: MaskTrainingSchedule
    public var initialValue: Float
    /// Kinds whose λ are clamped to ≥ 0 before ranking.
    public var clampedKinds: Set<UnitKind>
    /// Already-learned λ by module key; when set, no training runs.
    public var lambdas: [String: [Float]]?

    public var name: String { "ecodiff" }
    public var summary: String { "EcoDiff learned hard-concrete mask logits λ (FFN λ clamped ≥ 0; needs calibration)" }

    /// EcoDiff's SDXL settings by default.
    public init(
        parametrization: MaskParametrization = .hardConcrete(.sdxl), objective: EcoDiffObjective = .sdxl,
        learningRates: [UnitKind: Float] = MaskTrainer.sdxlLearningRates, weightDecay: Float = 0.01,
        schedule: MaskTrainingSchedule = MaskTrainingSchedule(), initialValue: Float = MaskSet.defaultInitialValue,
        clampedKinds: Set<UnitKind> = [.feedForwardNeuron, .modulationOutput], lambdas: [String: [Float]]? = nil
    ) {
        self.parametrization = parametrization
        self.objective = objective
        self.learningRates = learningRates
        self.weightDecay = weightDecay
        self.schedule = schedule
        self.initialValue = initialValue
        self.clampedKinds = clampedKinds
        self.lambdas = lambdas
    }

    public func scores(in context: ScoringContext) throws -> UnitScores {
        let learned: [String: [Float]]
        if let lambdas {
            learned = lambdas
        } else {
            try context.requireCalibration(for: name)
            let masks = MaskSet(groups: context.groups, parametrization: parametrization, initialValue: initialValue)
            var schedule = self.schedule
            schedule.seed = context.seed
            var trainer = MaskTrainer(
                masks: masks, objective: objective,
                optimizer: MaskTrainer.optimizer(
                    for: masks, learningRates: learningRates, defaultLearningRate: 0.1, weightDecay: weightDecay),
                schedule: schedule)
            let total = schedule.epochs * context.calibration.count
            var completed = 0
            try trainer.train(context.calibration) { event in
                completed += 1
                context.progress(
                    ScoringProgress(
                        criterion: name, completed: completed, total: total,
                        message: "epoch \(event.epoch) prompt \(event.prompt) loss \(event.value.total)"))
            }
            masks.zeroGradients()
            learned = masks.lambdas.mapValues { $0.scalars() }
        }
        var scores = UnitScores()
        for group in context.groups {
            guard let values = learned[group.moduleKey] else {
                throw CriterionError.scoreShape(module: group.moduleKey, expected: group.unitCount, actual: 0)
            }
            scores[group.moduleKey] = clampedKinds.contains(group.kind) ? values.map { max($0, 0) } : values
        }
        try scores.validate(against: context.groups)
        return scores
    }
}
