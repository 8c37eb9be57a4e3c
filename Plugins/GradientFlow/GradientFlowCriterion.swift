import PrunePluginKit

/// Gradient-flow pruning, reconstructed from the abstract of "Pruning for Sparse Diffusion Models based on
/// Gradient Flow" (Wan, Zheng, Chen, Wang, Wang; ICASSP 2025, arXiv 2501.09464). The paper's text beyond
/// the abstract and its code are not public, so everything below that the abstract does not state is our
/// reconstruction (see Plugins/README.md, "What is reconstructed").
///
/// From the abstract: the method is iterative; a progressive soft-pruning strategy keeps the mask
/// continuous; the mask moves along the gradient flow of an energy function built on the pruning
/// criterion; the criterion prunes units whose removal *increases* the gradient norm of the loss; there is
/// no one-shot cut.
///
/// What is computed, exactly. Masks `m ∈ [0, 1]`, one per unit, start at 1. For `k = 1 … K`:
/// 1. Loss. `L(m) = Σ_samples Σ_steps mse(step_i(x_i; m), x̂)`: each step of the calibration trajectory run
///    with the soft masks, from the latents `x_i` entering it (the masked run's own, detached), against the
///    unmasked trajectory's final latents `x̂` (the trajectory exposes no ε-prediction to train on; the same
///    stand-in as PruneKit's `taylor` criterion). `g = ∂L/∂m` by back-propagation.
/// 2. Gradient-flow score (GraSP, Wang et al. ICLR 2020). Removing unit `u` (δ = −m_u e_u) changes the
///    squared gradient norm by `ΔG ≈ 2δᵀHg = −2 m_u (Hg)_u`. `Hg` is a finite difference of mask gradients
///    at the same `x_i`: `Hg ≈ (g(m + εĝ) − g(m)) · ‖g‖ / ε` with `ĝ = g/‖g‖`. Importance
///    `I_u = m_u (Hg)_u`: units with the most negative `I` are those whose removal increases the gradient
///    norm most, and are pushed out first.
/// 3. Sparsity pressure from the criterion: within each unit kind (heads, neurons, blocks), `p_u = 1 − r_u/(n−1)`
///    with `r_u` the rank of `I_u` (0 = lowest), so the least important unit feels pressure 1, the most
///    important 0.
/// 4. One explicit Euler step of the gradient flow of `E(m) = L(m) + λ_k Σ_u p_u m_u` with the progressive
///    weight `λ_k = λ·k/K`: `m ← clip(m − η (g/max|g| + λ_k p), 0, 1)` (the loss gradient normalised per
///    unit kind, so `η` is in mask units).
///
/// The score of unit `u` is its final mask `m_u` plus `10⁻³ (1 − p_u)` to order units whose masks tie (at 0
/// or 1) by their last importance. Units the flow drove towards 0 are cut first by the plan.
///
/// Cost per iteration: two forward-and-backward passes over every step of every calibration sample.
final class GradientFlowCriterion: CriterionPlugin {
    nonisolated(unsafe) static let shared = GradientFlowCriterion()

    var settings = GradientFlowSettings()

    var name: String { "gradient-flow" }
    var summary: String {
        "gradient-flow soft masks: K iterations of GraSP-style m·Hg scores driving a progressive mask flow (needs calibration)"
    }
    var needsCalibration: Bool { true }
    var supportsDataParallelism: Bool { true }

    func scores(in context: ScoringContextView) throws -> [Float] {
        let groups = try context.groups()
        let samples = try context.sampleCount()
        guard samples > 0 else { throw PluginFailure.invalidArgument("gradient-flow needs calibration samples") }
        let settings = settings
        var masks = groups.map { [Float](repeating: 1, count: $0.unitCount) }
        var pressure = groups.map { [Float](repeating: 0, count: $0.unitCount) }
        let stepCounts = try (0..<samples).map { try context.sample($0).steps }
        let total = settings.iterations * 2 * stepCounts.reduce(0, +)
        var completed = 0
        for iteration in 1...settings.iterations {
            // Pass A: g at m, recording the latents entering every step.
            var entering: [[HostTensor]] = []
            let gradient = try maskGradient(context, groups: groups, masks: masks, entering: &entering, record: true) {
                completed += 1
                context.progress(completed: completed, total: total, message: "iteration \(iteration)/\(settings.iterations): gradient")
            }
            // Pass B: g at m + εĝ on the same latents → Hg.
            let norm = gradient.joined().reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
            var hessianGradient = gradient.map { $0.map { _ in Float(0) } }
            if norm > 0 {
                let probe = zip(masks, gradient).map { mask, g in zip(mask, g).map { $0 + settings.epsilon * $1 / norm } }
                let probed = try maskGradient(context, groups: groups, masks: probe, entering: &entering, record: false) {
                    completed += 1
                    context.progress(completed: completed, total: total, message: "iteration \(iteration)/\(settings.iterations): Hessian-gradient product")
                }
                hessianGradient = zip(probed, gradient).map { zip($0, $1).map { ($0 - $1) * norm / settings.epsilon } }
            } else {
                completed += stepCounts.reduce(0, +)
            }
            let importance = zip(masks, hessianGradient).map { zip($0, $1).map(*) }
            pressure = Self.pressure(importance: importance, groups: groups)
            // One explicit step of the gradient flow of E(m) = L(m) + λ_k Σ p·m, per unit kind.
            let weight = settings.pressure * Float(iteration) / Float(settings.iterations)
            for kind in Set(groups.map(\.kind.rawValue)) {
                let members = groups.indices.filter { groups[$0].kind.rawValue == kind }
                let largest = members.flatMap { gradient[$0] }.map { Swift.abs($0) }.max() ?? 0
                let scale: Float = largest > 0 ? 1 / largest : 0
                for group in members {
                    for unit in masks[group].indices {
                        let flow = gradient[group][unit] * scale + weight * pressure[group][unit]
                        masks[group][unit] = min(max(masks[group][unit] - settings.stepSize * flow, 0), 1)
                    }
                }
            }
        }
        return zip(masks, pressure).flatMap { mask, p in zip(mask, p).map { $0 + 1e-3 * (1 - $1) } }
    }

    /// `∂L/∂m` at `masks`, summed over every step of every sample (of every rank). With `record`, the masked run's
    /// latents entering each step are stored in `entering`; otherwise they are read from it.
    private func maskGradient(
        _ context: ScoringContextView, groups: [UnitGroupInfo], masks: [[Float]], entering: inout [[HostTensor]], record: Bool,
        onStep: () -> Void
    ) throws -> [[Float]] {
        let leaves = try zip(groups, masks).map { group, values in
            try HostTensor(values, shape: [group.unitCount], requiresGradient: true)
        }
        // Each sample's gradient is read alone and added in double precision in sample order, so that a
        // data-parallel run (a shard of the samples per rank, summed over ranks) rounds to the same floats: the
        // finite difference below divides rounding differences by ε.
        var sums = groups.map { [Double](repeating: 0, count: $0.unitCount) }
        for sample in 0..<(try context.sampleCount()) {
            let (steps, initial, target) = try context.sample(sample)
            if record { entering.append([]) }
            var latents = initial
            for step in 0..<steps {
                if !record { latents = entering[sample][step] } else { entering[sample].append(latents) }
                let output = try context.step(sample: sample, step: step, latents: latents, masks: leaves)
                try output.meanSquaredError(target).backward()
                latents = try output.detached()
                onStep()
            }
            for (group, leaf) in leaves.enumerated() {
                guard let gradient = try leaf.gradient()?.values() else { continue }
                for unit in gradient.indices { sums[group][unit] += Double(gradient[unit]) }
                try leaf.zeroGradient()
            }
        }
        // A data-parallel run holds a shard of the samples here: the sum over all of them is the sum over ranks.
        var flat = Array(sums.joined())
        try context.sumOverRanks(&flat)
        var offset = 0
        return sums.map { values in
            defer { offset += values.count }
            return flat[offset..<(offset + values.count)].map { Float($0) }
        }
    }

    /// `p_u = 1 − rank(I_u)/(n − 1)` within each unit kind (rank 0 = least important).
    static func pressure(importance: [[Float]], groups: [UnitGroupInfo]) -> [[Float]] {
        var pressure = importance.map { $0.map { _ in Float(0) } }
        for kind in Set(groups.map(\.kind.rawValue)) {
            var entries: [(group: Int, unit: Int, value: Float)] = []
            for group in groups.indices where groups[group].kind.rawValue == kind {
                for unit in importance[group].indices { entries.append((group, unit, importance[group][unit])) }
            }
            entries.sort { $0.value < $1.value || ($0.value == $1.value && ($0.group, $0.unit) < ($1.group, $1.unit)) }
            let span = Float(max(entries.count - 1, 1))
            for (rank, entry) in entries.enumerated() { pressure[entry.group][entry.unit] = 1 - Float(rank) / span }
        }
        return pressure
    }
}
