/// A pattern over module keys: a glob (`*` any run of characters, dots included; `?` one character) or a
/// regular expression, both matched against the whole key.
///
/// Written as text, `re:<regex>` is a regular expression and anything else a glob:
/// `*.attn2` (every cross-attention), `re:.*transformer_blocks\.[0-3]\.ff`.
public enum ModulePattern: Sendable, Equatable, Codable, CustomStringConvertible {
    case glob(String)
    case regex(String)

    /// Parses `re:<regex>` as a regex, anything else as a glob.
    public init(_ text: String) {
        self = text.hasPrefix("re:") ? .regex(String(text.dropFirst(3))) : .glob(text)
    }

    public var description: String {
        switch self {
        case .glob(let pattern): pattern
        case .regex(let pattern): "re:\(pattern)"
        }
    }

    /// Whether `key` matches the whole pattern.
    /// - Throws: ``PlanError/invalidPattern(_:reason:)`` for a regex that does not compile.
    public func matches(_ key: String) throws(PlanError) -> Bool {
        switch self {
        case .glob(let pattern):
            return Self.glob(Array(pattern.unicodeScalars), Array(key.unicodeScalars))
        case .regex(let pattern):
            let regex: Regex<AnyRegexOutput>
            do { regex = try Regex(pattern) } catch { throw .invalidPattern(description, reason: "\(error)") }
            return (try? regex.wholeMatch(in: key)) != nil
        }
    }

    /// Iterative glob match with backtracking over the last `*`.
    static func glob(_ pattern: [Unicode.Scalar], _ text: [Unicode.Scalar]) -> Bool {
        var p = 0, t = 0
        var star = -1, mark = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == "?" || pattern[p] == text[t] {
                p += 1
                t += 1
            } else if p < pattern.count, pattern[p] == "*" {
                star = p
                mark = t
                p += 1
            } else if star >= 0 {
                p = star + 1
                mark += 1
                t = mark
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }
}
