import PruneNN
import PruneTensor

/// EcoDiff's learned mask logits as scores: train one λ per unit with ``MaskTrainer`` on the calibration
/// trajectories (end-to-end reconstruction + sparsity penalty), then score each unit by its λ.
///
/// Scores are the raw λ. EcoDiff's own `binarize` clamps FFN and modulation λ at 0 and then keeps the units
/// with λ > 0 — the same units whether or not λ was clamped — so the clamp changes nothing at EcoDiff's
/// threshold. A plan with a *target* ranks the units instead, and there the clamp would tie every unit
/// with λ ≤ 0 at 0 (on the SDXL demo model after 4 epochs: 42 % of all units), leaving the plan to break the
/// ties by module order; ranking raw λ removes the most negative first. ``clampedKinds`` restores the
/// clamped scores.
///
/// The trainer's mask-noise seed is the context's seed (``MaskTrainingSchedule/seed`` is replaced).
/// With ``lambdas`` set, the criterion skips training and scores those λ (e.g. a resumed or loaded mask
/// checkpoint). Training runs in the shared ``MaskTrainer/run(_:shard:criterion:checkpointing:progress:onIteration:)``:
/// `scores` configures the criterion for the context (``configured(for:)``: the model's EcoDiff settings when the
/// context carries a model, then ``ScoringContext/training``'s epochs, learning rate and β) and trains with the
/// context's snapshots, resume and iteration callback; ``learnLambdas(in:checkpointing:onIteration:)`` trains
/// with the settings as they stand.
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
    /// Kinds whose λ are clamped to ≥ 0 before ranking (none by default; EcoDiff's binarize clamps FFN and
    /// modulation λ, which matters only for thresholding at 0).
    public var clampedKinds: Set<UnitKind>
    /// Already-learned λ by module key; when set, no training runs.
    public var lambdas: [String: [Float]]?
    /// Whether a context's model replaces the parametrization, objective and learning rates with its
    /// ``PrunableModel/ecoDiffSettings`` (true by default; false keeps the settings given here).
    public var adaptsToModel: Bool

    public var name: String { "ecodiff" }
    public var summary: String { "EcoDiff learned end-to-end hard-concrete mask logits λ (needs calibration)" }
    public var trainsMasks: Bool { true }
    public var supportsDataParallelism: Bool { true }
    /// λ is one gate's logit whatever the unit's kind, and EcoDiff's paper binarises with one threshold across kinds
    /// (M = 𝕀(λ > τ), τ set by the target), so its plan ranks heads and neurons together: λ decide how a target
    /// splits between kinds (docs/ecodiff-flux-diagnosis.md §9).
    public var defaultScope: PruningPlan.Scope { .joint }

    /// EcoDiff's SDXL settings by default.
    public init(
        parametrization: MaskParametrization = .hardConcrete(.sdxl), objective: EcoDiffObjective = .sdxl,
        learningRates: [UnitKind: Float] = MaskTrainer.sdxlLearningRates, weightDecay: Float = 0.01,
        schedule: MaskTrainingSchedule = MaskTrainingSchedule(), initialValue: Float = MaskSet.defaultInitialValue,
        clampedKinds: Set<UnitKind> = [], lambdas: [String: [Float]]? = nil, adaptsToModel: Bool = true
    ) {
        self.adaptsToModel = adaptsToModel
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
            let criterion = configured(for: context)
            try context.requireCalibration(for: name)
            var trainer = criterion.makeTrainer(groups: context.groups, seed: context.seed)
            learned = try context.trainMasks(&trainer, criterion: name)
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
