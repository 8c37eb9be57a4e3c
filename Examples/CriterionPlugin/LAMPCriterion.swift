import CPrunePlugin
import PrunePluginKit

/// Structural LAMP, a data-free criterion as a `.so` plugin: the walkthrough of everything a criterion
/// author needs from the plugin ABI (see README.md next to this file).
///
/// LAMP ("Layer-adaptive Sparsity for the Magnitude-based Pruning", Lee, Park, Mo, Ahn, Shin; ICLR 2021)
/// rescales magnitudes so one global threshold gives each layer its own sparsity. Per unit group (one
/// module's heads or FFN neurons), with `s_u = Σ |w|ᵖ` over every weight unit `u` owns (p = 2 in the paper):
///
///     score(u) = s_u / Σ_{v : s_v ≥ s_u} s_v        (units sorted ascending, ties by index)
///
/// The strongest unit of every module scores 1, so a module is only emptied when the target leaves no
/// other choice; within one module the order is plain magnitude order. This implementation matches: the
/// authors' `_normalize_scores` (jaeho-lee/layer-adaptive-sparsity) applied to per-unit sums instead of
/// single weights, the normalisation Torch-Pruning's `LAMPImportance` (`normalizer="lamp"`) applies to
/// structural groups (it averages over coupled layers where this sums; LAMP is invariant to that scale).
final class LAMPCriterion: CriterionPlugin {
    /// The instance the descriptor registers and the `configure` hook edits.
    nonisolated(unsafe) static let shared = LAMPCriterion()

    /// The exponent p of a unit's size `Σ |w|ᵖ`: 2 (LAMP) or 1 (`--plugin-option lamp.power=1`).
    var power = 2

    // Step 1 — what `prunekit criteria` shows and how the host prepares the run. `needsCalibration`
    // false means no calibration trajectories are computed and `context.sampleCount()` is 0.
    var name: String { "lamp" }
    var summary: String { "LAMP: Σ|w|ᵖ per unit over Σ of the module's units at least as large (data-free)" }
    var needsCalibration: Bool { false }

    /// Step 2 — the scoring callback. The host calls it once per run with a context that is valid only
    /// during the call. Return exactly one score per unit, group after group in `context.groups()` order,
    /// unit after unit; higher keeps. Anything thrown becomes a status code plus `last_error` text at the
    /// boundary, and `prunekit` prints it (a plugin must never trap: the host would die with it).
    func scores(in context: ScoringContextView) throws -> [Float] {
        let groups = try context.groups()
        var perIndex: [String: [Float]] = [:]  // "key#axis" → Σ|w|ᵖ per index along axis (q/k/v may share a tensor)
        var scores: [Float] = []
        for (position, group) in groups.enumerated() {
            var sizes = [Double](repeating: 0, count: group.unitCount)
            // A unit owns `offset + u·width ..< offset + (u+1)·width` along `axis` of each slice's tensor.
            for slice in group.slices {
                let cacheKey = "\(slice.key)#\(slice.axis)"
                let reduced = try perIndex[cacheKey] ?? reduce(context.parameter(slice.key), along: slice.axis, key: slice.key)
                perIndex[cacheKey] = reduced
                guard slice.offset + group.unitCount * slice.width <= reduced.count else {
                    throw PluginFailure.invalidArgument(
                        "\(group.moduleKey): \(group.unitCount) units × \(slice.width) from \(slice.offset) exceed axis \(slice.axis) of \(slice.key) (\(reduced.count))")
                }
                for unit in 0..<group.unitCount {
                    let start = slice.offset + unit * slice.width
                    for index in start..<start + slice.width { sizes[unit] += Double(reduced[index]) }
                }
            }
            scores += Self.normalized(sizes)
            context.progress(completed: position + 1, total: groups.count, message: group.moduleKey)
        }
        return scores
    }

    /// `Σ |w|ᵖ` over every axis of `tensor` but `axis`, one value per index along `axis`. The work runs in the
    /// host (`abs`, `*`, `sum` are host operations on handles); `values()` copies the small result out.
    private func reduce(_ tensor: HostTensor, along axis: Int, key: String) throws -> [Float] {
        let rank = try tensor.shape.count
        guard axis >= 0, axis < rank else { throw PluginFailure.invalidArgument("\(key) has rank \(rank); no axis \(axis)") }
        let magnitude = try tensor.abs()
        let powered = try power == 2 ? magnitude * magnitude : magnitude
        let others = (0..<rank).filter { $0 != axis }
        return try (others.isEmpty ? powered : powered.sum(axes: others)).values()
    }

    /// LAMP's normalisation of one group's sizes: `s_u / Σ_{v ranked at or above u} s_v` (0 when that sum is 0).
    static func normalized(_ sizes: [Double]) -> [Float] {
        let ascending = sizes.indices.sorted { (sizes[$0], $0) < (sizes[$1], $1) }
        var result = [Float](repeating: 0, count: sizes.count)
        var remaining = sizes.reduce(0, +)  // Σ of the units not yet passed in ascending order
        for unit in ascending {
            result[unit] = remaining > 0 ? Float(sizes[unit] / remaining) : 0
            remaining -= sizes[unit]
        }
        return result
    }
}
