/// Splits normalized text into the words CLIP's BPE encodes one at a time.
///
/// This implementation matches: the pre-tokenizer regex of transformers' `CLIPTokenizer`,
/// `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`, applied as
/// `re.findall` (the fast tokenizer's `Split(…, behavior="removed", invert=True)`): matches are kept, the
/// whitespace between them is dropped. The two special-token alternatives are handled before this, by
/// `AddedTokenSplitter`. It is written as a scanner over Unicode scalars rather than a regex: letters are the
/// general categories L*, numbers N*, whitespace the `White_Space` property.
enum CLIPPreTokenizer {
    /// The contractions the regex tries first, in its order.
    private static let contractions: [[Unicode.Scalar]] = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"].map {
        Array($0.unicodeScalars)
    }

    /// The words of `text`, in order.
    static func split(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var words: [String] = []
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            if isWhitespace(scalar) {
                index += 1
                continue
            }
            var end = index + 1
            if let contraction = contractions.first(where: { matches($0, in: scalars, at: index) }) {
                end = index + contraction.count
            } else if isLetter(scalar) {
                while end < scalars.count && isLetter(scalars[end]) { end += 1 }
            } else if isNumber(scalar) {
                end = index + 1
            } else {
                while end < scalars.count && isOther(scalars[end]) { end += 1 }
            }
            var word = String.UnicodeScalarView()
            word.append(contentsOf: scalars[index..<end])
            words.append(String(word))
            index = end
        }
        return words
    }

    private static func matches(_ pattern: [Unicode.Scalar], in scalars: [Unicode.Scalar], at index: Int) -> Bool {
        guard index + pattern.count <= scalars.count else { return false }
        for offset in pattern.indices where scalars[index + offset] != pattern[offset] { return false }
        return true
    }

    /// `\p{L}`: the general categories Lu, Ll, Lt, Lm, Lo.
    static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: true
        default: false
        }
    }

    /// `\p{N}`: the general categories Nd, Nl, No.
    static func isNumber(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: true
        default: false
        }
    }

    /// `\s`: the Unicode `White_Space` property.
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool { scalar.properties.isWhitespace }

    /// `[^\s\p{L}\p{N}]`.
    static func isOther(_ scalar: Unicode.Scalar) -> Bool {
        !isWhitespace(scalar) && !isLetter(scalar) && !isNumber(scalar)
    }
}
