import PruneNN
import PruneTensor

/// Wanda-style activation-weighted magnitude: `S_u = Σ_{j ∈ u} ‖X_j‖₂ · Σ_i |W_ij|`, summed over the columns `j`
/// a unit owns in the projection that consumes its activation.
///
/// - `X_j` is column `j` of the unit's masked activation: the head's attention output before the output
///   projection, or the FFN hidden activation before the down projection. Its norm runs over every token,
///   batch row (both classifier-free-guidance halves), denoising step and calibration sample.
/// - `W_ij` are the consuming projection's weights: `to_out.0.weight` (plus `to_add_out` for FLUX joint
///   attention), `ff.net.2.weight`, or `proj_out` for FLUX single blocks. These are the slices of the
///   group along a weight's last axis.
///
/// How activations are observed: every step runs with all-ones masks that are gradient leaves, so each
/// `activation × mask` product is recorded on the tape (the output is unchanged). After the step, the tape is
/// walked from the output to every multiplication by a probe mask, and the other operand is the activation.
/// No backward pass is run. The tape is dropped after each step, so memory is one step's forward tape.
///
/// This implementation matches: Wanda (Sun et al., ICLR 2024) `|W_ij|·‖X_j‖₂`, aggregated per structural
/// unit over the input columns of the consuming weight (Torch-Pruning's `ActivationImportance`-like
/// grouping), instead of Wanda's per-output-row comparison of single weights.
///
/// A block (``UnitKind/block``) scores `‖Δ_b‖₂ · Σ|W|` over every tensor it owns, with `Δ_b = block(x) − x` its
/// residual contribution (what its mask scales).
///
/// Limitations: the rows a unit owns in the producing projections (q/k/v, up projection) are ignored, since
/// their input is shared by all units. If a group has no consuming slice whose width matches the
/// activation, the unit's whole activation norm `‖X_u‖` is multiplied by the L1 norm of all its weights.
/// Throws ``CriterionError/activationNotObserved(module:)`` for a group the forward pass never masks.
public struct ActivationCriterion: PruningCriterion {
    public var name: String { "activation" }
    public var summary: String { "Wanda-style Σ ‖X_j‖·|W_:j| over each unit's consumer columns (needs calibration)" }
    public var supportsDataParallelism: Bool { true }

    public init() {}

    public func scores(in context: ScoringContext) throws -> UnitScores {
        try context.requireCalibration(for: name)
        let probes = ProbeMasks(groups: context.groups)
        // Σ a² per (unit, in-unit column), flattened unit-major.
        var squares: [String: [Double]] = [:]
        var inner: [String: Int] = [:]
        var blockSquares: [String: [Int: Double]] = [:]
        let total = context.calibration.reduce(0) { $0 + $1.trajectory.stepCount }
        var completed = 0
        for (sampleIndex, sample) in context.calibration.enumerated() {
            let trajectory = sample.trajectory
            // Each step on its own tape (read for the masked activations), from the detached latents entering it.
            _ = try withGradients {
                try trajectory.unroll(
                    from: trajectory.initialLatents(noise: sample.noise).detached(), masks: { _ in probes.masks }, detachingBetweenSteps: true
                ) { step in
                    for observation in probes.activations(from: step.output) {
                        guard let unitAxis = observation.unitAxis else {
                            let squares = Self.squaredColumnSums(observation.activation, unitAxis: 0).reduce(0, +)
                            blockSquares[observation.module, default: [:]][observation.unit ?? 0, default: 0] += squares
                            continue
                        }
                        let sums = Self.squaredColumnSums(observation.activation, unitAxis: unitAxis)
                        if let existing = squares[observation.module], existing.count == sums.count {
                            squares[observation.module] = zip(existing, sums).map { $0 + $1 }
                        } else {
                            squares[observation.module] = sums
                        }
                        inner[observation.module] = observation.activation.shape[(unitAxis + 1)...].reduce(1, *)
                    }
                    completed += 1
                    context.progress(
                        ScoringProgress(criterion: name, completed: completed, total: total, message: "sample \(sampleIndex) step \(step.index)"))
                    return .proceed
                }
            }
        }
        if context.calibrationShard.group.isDistributed {
            // Σ a² adds over prompts: sum both maps over the ranks (block sums flattened by unit).
            try context.sumOverRanks(&squares)
            var blocks = blockSquares.mapValues { units in units.keys.sorted().map { units[$0]! } }
            try context.sumOverRanks(&blocks)
            for (module, units) in blockSquares {
                blockSquares[module] = Dictionary(uniqueKeysWithValues: zip(units.keys.sorted(), blocks[module]!))
            }
        }
        var scores = UnitScores()
        var columnNorms: [String: [Float]] = [:]
        for group in context.groups where group.isBlockList {
            guard let observed = blockSquares[group.moduleKey] else { throw CriterionError.activationNotObserved(module: group.moduleKey) }
            scores[group.moduleKey] = try (0..<group.unitCount).map { unit in
                let weights = try group.wholeTensors[unit].reduce(0.0) { total, key in
                    let tensor = try context.parameter(key, module: group.moduleKey)
                    return total + Double(MagnitudeCriterion.reduce(tensor.reshaped([tensor.count]), along: 0, norm: .l1).reduce(0, +))
                }
                return Float((observed[unit] ?? 0).squareRoot() * weights)
            }
        }
        for group in context.groups where !group.isBlockList {
            guard let sums = squares[group.moduleKey], let width = inner[group.moduleKey] else {
                throw CriterionError.activationNotObserved(module: group.moduleKey)
            }
            var unitScores = [Double](repeating: 0, count: group.unitCount)
            var fallback = [Double](repeating: 0, count: group.unitCount)
            var usedConsumer = false
            for slice in group.slices {
                let tensor = try context.parameter(slice.key, module: group.moduleKey)
                let end = slice.offset + group.unitCount * slice.width
                guard slice.axis >= 0, slice.axis < tensor.rank, end <= tensor.shape[slice.axis] else {
                    throw CriterionError.sliceOutOfBounds(
                        key: slice.key, module: group.moduleKey, shape: tensor.shape, axis: slice.axis, end: end)
                }
                let cacheKey = "\(slice.key)#\(slice.axis)"
                let l1 = columnNorms[cacheKey] ?? MagnitudeCriterion.reduce(tensor, along: slice.axis, norm: .l1)
                columnNorms[cacheKey] = l1
                let consumer = tensor.rank >= 2 && slice.axis == tensor.rank - 1 && slice.width == width
                for unit in 0..<group.unitCount {
                    let range = slice.indices(ofUnit: unit)
                    if consumer {
                        for (k, column) in range.enumerated() {
                            unitScores[unit] += sums[unit * width + k].squareRoot() * Double(l1[column])
                        }
                    } else {
                        for column in range { fallback[unit] += Double(l1[column]) }
                    }
                }
                usedConsumer = usedConsumer || consumer
            }
            if !usedConsumer {
                for unit in 0..<group.unitCount {
                    let norm = sums[(unit * width)..<((unit + 1) * width)].reduce(0, +).squareRoot()
                    unitScores[unit] = norm * fallback[unit]
                }
            }
            scores[group.moduleKey] = unitScores.map { Float($0) }
        }
        return scores
    }

    /// Σ x² over every axis before `unitAxis`, per (unit, trailing position): `[units · inner]`, unit-major.
    static func squaredColumnSums(_ tensor: Tensor, unitAxis: Int) -> [Double] {
        let shape = tensor.shape
        let outer = shape[..<unitAxis].reduce(1, *)
        let span = shape[unitAxis...].reduce(1, *)
        let values = tensor.scalars()
        var result = [Double](repeating: 0, count: span)
        for o in 0..<outer {
            let base = o * span
            for n in 0..<span { let v = Double(values[base + n]); result[n] += v * v }
        }
        return result
    }
}
