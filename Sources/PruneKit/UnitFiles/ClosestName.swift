import PruneTensor

/// The candidate nearest to a mistyped name, by edit distance, for "did you mean" hints.
enum ClosestName {
    /// The candidate with the smallest edit distance to `name` (ties: the first in `candidates`), or nil when
    /// even that one differs in more than half of `name`'s characters.
    static func closest(to name: String, in candidates: [String]) -> String? {
        let target = Array(name.utf8)
        var best: (distance: Int, name: String)?
        for candidate in candidates {
            let distance = EditDistance.bytes(target, Array(candidate.utf8))
            if best == nil || distance < best!.distance { best = (distance, candidate) }
        }
        guard let best, best.distance * 2 <= max(target.count, 1) else { return nil }
        return best.name
    }
}
