/// A pre-tokenizer from a `tokenizer.json` `pre_tokenizer` section: cuts normalized text into the pieces the
/// Unigram model segments independently.
///
/// This implementation matches: the `tokenizers` crate's `Sequence`, `WhitespaceSplit` (split on Unicode whitespace,
/// drop it) and `Metaspace` (every space → the replacement `▁`; prepend `▁` to a piece that does not start with
/// it — always, only on the piece that starts the input (`first`), or never; then, when `split` is on, cut before
/// every `▁`, which stays with the text after it). The legacy form `"add_prefix_space": true` means `always`.
indirect enum PreTokenizer: Sendable {
    case sequence([PreTokenizer])
    case whitespaceSplit
    case metaspace(replacement: Character, prepend: PrependScheme, split: Bool)

    /// When Metaspace adds the replacement in front of a piece.
    enum PrependScheme: String, Sendable {
        case always, first, never
    }

    /// A piece of text and whether it begins at the start of the input (for `PrependScheme.first`).
    struct Piece: Equatable {
        var text: String
        var startsInput: Bool
    }

    /// The pieces of `pieces` after this pre-tokenizer.
    func apply(_ pieces: [Piece]) -> [Piece] {
        switch self {
        case .sequence(let steps):
            return steps.reduce(pieces) { $1.apply($0) }
        case .whitespaceSplit:
            return pieces.flatMap { piece in
                var result: [Piece] = []
                var current = String.UnicodeScalarView()
                var currentStartsInput = piece.startsInput
                for scalar in piece.text.unicodeScalars {
                    if scalar.properties.isWhitespace {
                        if !current.isEmpty { result.append(Piece(text: String(current), startsInput: currentStartsInput)) }
                        current = String.UnicodeScalarView()
                        currentStartsInput = false
                    } else {
                        current.append(scalar)
                    }
                }
                if !current.isEmpty { result.append(Piece(text: String(current), startsInput: currentStartsInput)) }
                return result
            }
        case .metaspace(let replacement, let prepend, let split):
            return pieces.flatMap { piece -> [Piece] in
                guard !piece.text.isEmpty else { return [] }
                var text = piece.text.replacingSpaces(with: replacement)
                let wantsPrefix = prepend == .always || (prepend == .first && piece.startsInput)
                if wantsPrefix && !text.hasPrefix(String(replacement)) { text = String(replacement) + text }
                guard split else { return [Piece(text: text, startsInput: piece.startsInput)] }
                var result: [Piece] = []
                var current = ""
                for character in text.unicodeScalars.map(Character.init) {
                    if character == replacement && !current.isEmpty {
                        result.append(Piece(text: current, startsInput: result.isEmpty && piece.startsInput))
                        current = ""
                    }
                    current.append(character)
                }
                if !current.isEmpty { result.append(Piece(text: current, startsInput: result.isEmpty && piece.startsInput)) }
                return result
            }
        }
    }

    /// Reads a `pre_tokenizer` section.
    ///
    /// - Throws: `TokenizerError.unsupportedComponent` for a type not listed above, or a field error.
    static func parse(_ json: JSONObject) throws(TokenizerError) -> PreTokenizer {
        let type = try json.string("type")
        switch type {
        case "Sequence":
            var steps: [PreTokenizer] = []
            for (index, child) in try json.array("pretokenizers").enumerated() {
                steps.append(try parse(json.nested(child, field: json.name("pretokenizers[\(index)]"))))
            }
            return .sequence(steps)
        case "WhitespaceSplit":
            return .whitespaceSplit
        case "Metaspace":
            let replacementText = try json.optionalString("replacement") ?? "▁"
            guard replacementText.unicodeScalars.count == 1, let replacement = replacementText.first else {
                throw .invalidField(path: json.path, field: json.name("replacement"), expected: "one character",
                                    found: replacementText.debugDescription)
            }
            var prepend: PrependScheme = try json.bool("add_prefix_space", default: true) ? .always : .never
            if let scheme = try json.optionalString("prepend_scheme") {
                guard let parsed = PrependScheme(rawValue: scheme) else {
                    throw .invalidField(path: json.path, field: json.name("prepend_scheme"),
                                        expected: "\"always\", \"first\" or \"never\"", found: scheme.debugDescription)
                }
                prepend = parsed
            }
            return .metaspace(replacement: replacement, prepend: prepend, split: try json.bool("split", default: true))
        default:
            throw .unsupportedComponent(
                path: json.path, component: "pre-tokenizer \(type) at \(json.field.isEmpty ? "pre_tokenizer" : json.field)",
                supported: "Sequence, WhitespaceSplit, Metaspace")
        }
    }
}

extension String {
    /// This string with every U+0020 space replaced by `replacement`.
    fileprivate func replacingSpaces(with replacement: Character) -> String {
        var result = ""
        for scalar in unicodeScalars {
            if scalar == " " { result.append(replacement) } else { result.unicodeScalars.append(scalar) }
        }
        return result
    }
}
