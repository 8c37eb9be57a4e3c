/// One thing wrong between a model definition and the weights offered to it.
public enum CheckpointProblem: Sendable, Equatable, CustomStringConvertible {
    /// The model needs `key` with `expected` shape and the checkpoint lacks it.
    case missing(key: String, expected: [Int])
    /// The checkpoint holds `key` with a shape other than the model's.
    case shapeMismatch(key: String, expected: [Int], actual: [Int])
    /// The checkpoint holds `key` and the model has no such parameter.
    case unexpected(key: String, shape: [Int])
    /// Reading `key` failed.
    case unreadable(key: String, reason: String)

    /// A one-word category for summaries.
    public var category: String {
        switch self {
        case .missing: "missing"
        case .shapeMismatch: "mis-shaped"
        case .unexpected: "unexpected"
        case .unreadable: "unreadable"
        }
    }

    public var description: String {
        switch self {
        case .missing(let key, let expected): "missing \(key) (expected shape \(expected))"
        case .shapeMismatch(let key, let expected, let actual): "\(key): expected shape \(expected), found \(actual)"
        case .unexpected(let key, let shape): "unexpected \(key) (shape \(shape))"
        case .unreadable(let key, let reason): "\(key): \(reason)"
        }
    }
}

/// Errors raised while matching weights to a model.
public enum CheckpointError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Every problem found, reported together.
    case mismatched(source: String, problems: [CheckpointProblem])
    /// Keys asked of a source that does not hold them.
    case missingKeys([String], source: String)

    public var description: String {
        switch self {
        case .mismatched(let source, let problems):
            var tally: [String: Int] = [:]
            for problem in problems { tally[problem.category, default: 0] += 1 }
            let counts = ["missing", "mis-shaped", "unexpected", "unreadable"]
                .compactMap { name in tally[name].map { "\($0) \(name)" } }
                .joined(separator: ", ")
            return "weights in \(source) do not match the model (\(counts)):\n"
                + problems.map { "  - \($0)" }.joined(separator: "\n")
        case .missingKeys(let keys, let source):
            return "\(source) has no tensor named \(keys.joined(separator: ", "))"
        }
    }
}
