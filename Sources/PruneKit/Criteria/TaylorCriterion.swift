import PruneNN
import PruneTensor

/// First-order Taylor importance accumulated over the denoising steps of calibration trajectories, with
/// Diff-Pruning's loss-threshold rule choosing which steps count.
///
/// What is computed, exactly (for each calibration sample, independently):
/// 1. Run the trajectory from its noise with all-ones probe masks (so the model is unmasked). At step
///    `k = 0, 1, …` (noisiest first) take the step's output `y_k` and the per-step loss
///    `L_k = mean((y_k − x̂)²)`, where `x̂` is the sample's target: the unmasked model's final latent.
/// 2. Keep a running maximum `L_max`. Stop at the first `k` with `L_k < threshold · L_max` (that step is
///    not counted); every earlier step is. `threshold = nil` counts every step (plain Taylor).
/// 3. For each counted step, back-propagate `L_k` through that one step only (the latent entering it is a
///    constant) and add `∂L_k/∂m_u` to `G_u`.
///
/// The score of unit `u` is `|G_u|`, with `G_u = Σ_samples Σ_{k counted} ∂L_k/∂m_u`. By the mask-gradient
/// identity at m = 1, `∂L/∂m_u = Σ a·∂L/∂a` over the unit's masked activation `a` (head output before the
/// output projection, FFN hidden activation before the down projection), which equals `Σ θ·∂L/∂θ` over the
/// unit's columns of that consuming projection. So the score is `|Σ_{θ ∈ unit's consumer columns} θ·g|`
/// with `g` the gradient summed over the counted steps — the "multivariable" group Taylor form.
///
/// This implementation matches: Diff-Pruning (`ddpm_prune.py`): gradients summed over steps until
/// `L_t < thr·L_max` (default `thr` = 0.05), then first-order Taylor scores. Differences, by necessity or
/// choice:
/// - Diff-Pruning's loss is the ε-prediction training loss at forward-noised `x_t` of real data, visited from
///   the least-noisy `t` upward. A ``DenoisingTrajectory`` exposes neither the ε-prediction nor the forward
///   process, and a self-distillation loss against the unmasked step output has zero gradient at m = 1. So
///   the loss here is the distance of each step's output from the trajectory's clean end point `x̂`. It is
///   largest at the first (noisiest) step and reaches 0 at the last, so steps are visited noisiest first and
///   the rule drops the clean tail. Diff-Pruning keeps a low-noise window instead.
/// - Diff-Pruning (diffusers) sums `|θ_k g_k|` per element over all of a channel's parameters. This takes
///   `|Σ θ_k g_k|` over the consuming projection's columns only, through the mask gradient, because it needs
///   no parameter gradients.
///
/// Limitations: the model's weights should be frozen (`setRequiresGradient(false)`), or their gradients
/// are accumulated too and waste memory. Each counted step keeps one step's tape. At the last step
/// `L = 0`, so it is never counted when `threshold > 0`.
public struct TaylorCriterion: PruningCriterion {
    /// Diff-Pruning's `thr`: stop at the first step whose loss is below `threshold · L_max`; `nil` counts
    /// every step.
    public var threshold: Float?

    public var name: String { "taylor" }
    public var supportsDataParallelism: Bool { true }
    public var summary: String {
        "Diff-Pruning first-order Taylor |Σ θ·∂L/∂θ| per unit over steps until L < thr·L_max (needs calibration)"
    }

    public init(threshold: Float? = 0.05) { self.threshold = threshold }

    public func scores(in context: ScoringContext) throws -> UnitScores {
        try context.requireCalibration(for: name)
        let probes = ProbeMasks(groups: context.groups)
        var totals = Dictionary(uniqueKeysWithValues: context.groups.map { ($0.moduleKey, [Double](repeating: 0, count: $0.unitCount)) })
        let total = context.calibration.reduce(0) { $0 + $1.trajectory.stepCount }
        var completed = 0
        for (sampleIndex, sample) in context.calibration.enumerated() {
            let trajectory = sample.trajectory
            var maximum: Float = 0
            // Each step on its own tape from the detached latents entering it.
            probes.zeroGradients()
            _ = try withGradients {
                try trajectory.unroll(
                    from: trajectory.initialLatents(noise: sample.noise).detached(), masks: { _ in probes.masks }, detachingBetweenSteps: true
                ) { step in
                    let loss = meanSquaredError(step.output, sample.target.detached())
                    let value = loss.item()
                    maximum = max(maximum, value)
                    let stop = threshold.map { value < $0 * maximum } ?? false
                    if !stop { loss.backward() }
                    completed += 1
                    context.progress(
                        ScoringProgress(
                            criterion: name, completed: completed, total: total,
                            message: "sample \(sampleIndex) step \(step.index)\(stop ? " below threshold, stopping" : "")"))
                    if stop { return .stop }
                    for (module, gradient) in probes.gradients {
                        for unit in gradient.indices { totals[module]![unit] += Double(gradient[unit]) }
                    }
                    probes.zeroGradients()
                    return .proceed
                }
            }
        }
        probes.zeroGradients()
        try context.sumOverRanks(&totals)
        return UnitScores(totals.mapValues { $0.map { Float(abs($0)) } })
    }
}
