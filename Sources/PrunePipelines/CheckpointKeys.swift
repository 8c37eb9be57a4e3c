import PruneNN

/// The keys of one component of a single-file checkpoint (those under a prefix, the prefix removed) with
/// the questions configuration derivation asks: shapes, and the indices that occur below a path.
struct CheckpointKeys {
    let source: any TensorSource
    let prefix: String
    /// The file, for errors.
    let path: String
    let keys: Set<String>

    init(_ source: any TensorSource, prefix: String, path: String) {
        self.source = source
        self.prefix = prefix
        self.path = path
        keys = Set(source.keys.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) })
    }

    var isEmpty: Bool { keys.isEmpty }

    func contains(_ key: String) -> Bool { keys.contains(key) }

    /// Whether any key lies at or below `path`.
    func has(_ path: String) -> Bool { keys.contains(path) || keys.contains { $0.hasPrefix(path + ".") } }

    /// The shape of `key`, or nil.
    func shape(_ key: String) -> [Int]? { source.shape(of: prefix + key) }

    /// The shape of `key`, which the layout requires.
    /// - Throws: ``PipelineError/inconsistent(path:key:reason:)`` when absent or not of `rank`.
    func requiredShape(_ key: String, rank: Int? = nil, purpose: String) throws(PipelineError) -> [Int] {
        guard let shape = shape(key) else {
            throw .inconsistent(path: path, key: prefix + key, reason: "is missing (\(purpose))")
        }
        if let rank, shape.count != rank {
            throw .inconsistent(path: path, key: prefix + key, reason: "has shape \(shape); expected rank \(rank) (\(purpose))")
        }
        return shape
    }

    /// The sorted integers `n` for which a key starts with `path.n.` (or is `path.n`).
    func indices(under path: String) -> [Int] {
        let head = path + "."
        var found: Set<Int> = []
        for key in keys where key.hasPrefix(head) {
            let rest = key.dropFirst(head.count)
            if let number = Int(rest.prefix { $0 != "." }) { found.insert(number) }
        }
        return found.sorted()
    }
}
