import PruneTensor

/// Scores each unit with an independent uniform draw in `[0, 1)`: the baseline every other criterion has to
/// beat.
///
/// Each module draws from its own generator seeded by `ScoringContext.seed` mixed with a stable hash
/// (FNV-1a) of the module key, so a module's scores depend only on the seed and its key — not on which other
/// modules are scored or in what order.
///
/// This implementation matches: Diff-Pruning's / Torch-Pruning's `RandomImportance` baseline (uniform
/// scores), seeded reproducibly.
///
/// Limitations: ties have probability ~2⁻²⁴ per pair (float32 draws); the plan breaks them by index.
public struct RandomCriterion: PruningCriterion {
    public var name: String { "random" }
    public var summary: String { "uniform random scores from the context's seed (baseline)" }
    /// Data-free: scores come from the seed alone.
    public var requiresCalibration: Bool { false }

    public init() {}

    public func scores(in context: ScoringContext) throws -> UnitScores {
        var scores = UnitScores()
        for group in context.groups {
            var generator = SeededGenerator(seed: context.seed ^ Self.fnv1a(group.moduleKey))
            scores[group.moduleKey] = (0..<group.unitCount).map { _ in generator.nextUniform() }
        }
        context.progress(ScoringProgress(criterion: name, completed: 1, total: 1, message: "drawn"))
        return scores
    }

    /// FNV-1a of the UTF-8 bytes of `text`.
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}
