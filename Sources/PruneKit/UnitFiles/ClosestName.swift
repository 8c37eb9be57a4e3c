/// The candidate nearest to a mistyped name, by edit distance, for "did you mean" hints.
enum ClosestName {
    /// The candidate with the smallest edit distance to `name` (ties: the first in `candidates`), or nil when
    /// even that one differs in more than half of `name`'s characters.
    static func closest(to name: String, in candidates: [String]) -> String? {
        let target = Array(name.utf8)
        var best: (distance: Int, name: String)?
        for candidate in candidates {
            let distance = editDistance(target, Array(candidate.utf8))
            if best == nil || distance < best!.distance { best = (distance, candidate) }
        }
        guard let best, best.distance * 2 <= max(target.count, 1) else { return nil }
        return best.name
    }

    /// Levenshtein distance over bytes.
    static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.isEmpty { return b.count }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var diagonal = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let above = row[j]
                row[j] = min(above + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1))
                diagonal = above
            }
        }
        return row[b.count]
    }
}
