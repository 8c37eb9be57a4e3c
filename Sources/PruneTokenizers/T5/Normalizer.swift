import Foundation

/// A text normalizer from a `tokenizer.json` `normalizer` section, applied before pre-tokenization.
///
/// This implementation matches: the `tokenizers` crate's normalizers of the same names: `Sequence`, `NFC`, `NFD`,
/// `NFKC`, `NFKD`, `Lowercase` (per scalar, `char::to_lowercase`), `Replace` (a literal `String` or a `Regex`
/// pattern, every non-overlapping match left to right), `Strip` (Unicode whitespace at either end), `Prepend`, and
/// `Precompiled` (a SentencePiece normalization table, see `PrecompiledCharsMap`). Regex patterns are
/// Oniguruma syntax in the file and are compiled with Swift `Regex` in Unicode-scalar mode; the patterns real
/// tokenizer files use (` {2,}`, `\s+`) mean the same in both.
indirect enum Normalizer: Sendable {
    case sequence([Normalizer])
    case nfc, nfd, nfkc, nfkd
    case lowercase
    case replace(pattern: ReplacePattern, content: String)
    case strip(left: Bool, right: Bool)
    case prepend(String)
    case precompiled(PrecompiledCharsMap)

    /// What `Replace` looks for.
    enum ReplacePattern: @unchecked Sendable {
        case literal(String)
        case regex(Regex<AnyRegexOutput>)
    }

    /// The normalized form of `text`.
    func apply(_ text: String) -> String {
        switch self {
        case .sequence(let normalizers):
            return normalizers.reduce(text) { $1.apply($0) }
        case .nfc: return text.precomposedStringWithCanonicalMapping
        case .nfd: return text.decomposedStringWithCanonicalMapping
        case .nfkc: return text.precomposedStringWithCompatibilityMapping
        case .nfkd: return text.decomposedStringWithCompatibilityMapping
        case .lowercase: return CLIPTextNormalizer.lowercase(text)
        case .replace(.literal(let pattern), let content):
            return pattern.isEmpty ? text : text.replacingOccurrences(of: pattern, with: content)
        case .replace(.regex(let regex), let content):
            return text.replacing(regex, with: content)
        case .strip(let left, let right):
            var scalars = Substring(text).unicodeScalars
            while left, let first = scalars.first, first.properties.isWhitespace { scalars.removeFirst() }
            while right, let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
            return String(scalars)
        case .prepend(let prefix):
            return text.isEmpty ? text : prefix + text
        case .precompiled(let map):
            return map.normalize(text)
        }
    }

    /// Reads a `normalizer` section.
    ///
    /// - Throws: `TokenizerError.unsupportedComponent` for a normalizer type not listed above, or a field error.
    static func parse(_ json: JSONObject) throws(TokenizerError) -> Normalizer {
        let type = try json.string("type")
        switch type {
        case "Sequence":
            var children: [Normalizer] = []
            for (index, child) in try json.array("normalizers").enumerated() {
                children.append(try parse(json.nested(child, field: json.name("normalizers[\(index)]"))))
            }
            return .sequence(children)
        case "NFC": return .nfc
        case "NFD": return .nfd
        case "NFKC": return .nfkc
        case "NFKD": return .nfkd
        case "Lowercase": return .lowercase
        case "Strip":
            return .strip(left: try json.bool("strip_left", default: true), right: try json.bool("strip_right", default: true))
        case "Prepend":
            return .prepend(try json.string("prepend"))
        case "Replace":
            let pattern = try json.object("pattern")
            let content = try json.string("content")
            if let literal = try pattern.optionalString("String") { return .replace(pattern: .literal(literal), content: content) }
            let source = try pattern.string("Regex")
            do {
                let regex = try Regex(source).matchingSemantics(.unicodeScalar)
                return .replace(pattern: .regex(regex), content: content)
            } catch {
                throw .invalidField(path: json.path, field: pattern.name("Regex"), expected: "a regular expression",
                                    found: source.debugDescription)
            }
        case "Precompiled":
            let encoded = try json.string("precompiled_charsmap")
            return .precompiled(try PrecompiledCharsMap(base64: encoded, path: json.path, field: json.name("precompiled_charsmap")))
        default:
            throw .unsupportedComponent(
                path: json.path, component: "normalizer \(type) at \(json.field.isEmpty ? "normalizer" : json.field)",
                supported: "Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Replace, Strip, Prepend, Precompiled")
        }
    }
}
