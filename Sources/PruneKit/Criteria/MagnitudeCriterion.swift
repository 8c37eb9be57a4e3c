import PruneTensor

/// Scores each unit by the norm of all the weights it owns: the entries of every ``ParameterSlice`` of its
/// group (rows of the q/k/v projections and columns of the output projection for a head; up-projection
/// rows, their biases and the down-projection column for a neuron), taken together as one vector.
///
/// - `.l1`: Σ|w| over the unit's entries.
/// - `.l2` (default): √(Σw²) over the unit's entries.
///
/// A block (``UnitKind/block``) is scored by the same norm over every tensor it owns (``UnitGroup/wholeTensors``).
///
/// Data-free; no calibration needed.
///
/// This implementation matches: Torch-Pruning `GroupMagnitudeImportance(p=1|2, group_reduction="sum",
/// normalizer=None)` applied to one coupled unit (all slices of the unit form the group).
///
/// Limitations: units of different sizes (heads of different widths) are compared by raw norms, with no
/// size normalisation; a global ranking across modules therefore favours wider units.
public struct MagnitudeCriterion: PruningCriterion {
    /// Which norm of a unit's weights.
    public enum Norm: String, Sendable, Codable, CaseIterable {
        case l1, l2
    }

    public var norm: Norm
    public var name: String { "magnitude" }
    public var summary: String { "\(norm.rawValue.uppercased()) norm of each unit's weights over all its slices (data-free)" }
    /// Data-free: scores come from the weights alone.
    public var requiresCalibration: Bool { false }

    public init(norm: Norm = .l2) { self.norm = norm }

    public func scores(in context: ScoringContext) throws -> UnitScores {
        var cache: [String: [Float]] = [:]  // "key#axis" → per-index reduction
        var scores = UnitScores()
        for (position, group) in context.groups.enumerated() {
            var totals = [Float](repeating: 0, count: group.unitCount)
            for (unit, keys) in group.wholeTensors.enumerated() where unit < group.unitCount {
                for key in keys {
                    let tensor = try context.parameter(key, module: group.moduleKey)
                    totals[unit] += Self.reduce(tensor.reshaped([tensor.count]), along: 0, norm: norm).reduce(0, +)
                }
            }
            for slice in group.slices {
                let tensor = try context.parameter(slice.key, module: group.moduleKey)
                let end = slice.offset + group.unitCount * slice.width
                guard slice.axis >= 0, slice.axis < tensor.rank, end <= tensor.shape[slice.axis] else {
                    throw CriterionError.sliceOutOfBounds(
                        key: slice.key, module: group.moduleKey, shape: tensor.shape, axis: slice.axis, end: end)
                }
                let cacheKey = "\(slice.key)#\(slice.axis)"
                let perIndex = cache[cacheKey] ?? Self.reduce(tensor, along: slice.axis, norm: norm)
                cache[cacheKey] = perIndex
                for unit in 0..<group.unitCount {
                    for index in slice.indices(ofUnit: unit) { totals[unit] += perIndex[index] }
                }
            }
            scores[group.moduleKey] = norm == .l2 ? totals.map { $0.squareRoot() } : totals
            context.progress(
                ScoringProgress(criterion: name, completed: position + 1, total: context.groups.count, message: group.moduleKey))
        }
        return scores
    }

    /// Σ|x| (L1) or Σx² (L2) over every axis but `axis`, one value per index along `axis`.
    static func reduce(_ tensor: Tensor, along axis: Int, norm: Norm) -> [Float] {
        let shape = tensor.shape
        let extent = shape[axis]
        let inner = shape[(axis + 1)...].reduce(1, *)
        let outer = shape[..<axis].reduce(1, *)
        let values = tensor.scalars()
        var result = [Double](repeating: 0, count: extent)
        for o in 0..<outer {
            for i in 0..<extent {
                let base = (o * extent + i) * inner
                var sum: Double = 0
                switch norm {
                case .l1: for n in 0..<inner { sum += Double(abs(values[base + n])) }
                case .l2: for n in 0..<inner { let v = Double(values[base + n]); sum += v * v }
                }
                result[i] += sum
            }
        }
        return result.map { Float($0) }
    }
}
