import Foundation

/// Cleans a prompt before CLIP's pre-tokenizer splits it: Unicode NFC, every run of whitespace → one space, lower
/// case.
///
/// This implementation matches: the normalizer of transformers' CLIP tokenizer (transformers 5 has only the
/// `tokenizers`-backed one; its `tokenizer.json`: `Sequence[NFC, Replace(Regex("\s+"), " "), Lowercase]`), which is
/// what diffusers' SDXL and FLUX pipelines run. The slow path (transformers 4's `CLIPTokenizer` with ftfy, and
/// open_clip's `SimpleTokenizer`) first runs `ftfy.fix_text` and `html.unescape` twice and lower-cases with Python;
/// on the fixture prompts that differs only for HTML entities (`&amp;` stays literal here), ftfy's ligature fix
/// (`ﬁ` stays here) and a word-final capital sigma (`σ` here, `ς` there). Whitespace is the Unicode `White_Space`
/// property, as in the `tokenizers` crate's regex engine (Python's `re` also counts U+001C…U+001F).
enum CLIPTextNormalizer {
    /// The normalized form of `text`.
    static func normalize(_ text: String) -> String {
        let composed = text.precomposedStringWithCanonicalMapping
        var collapsed = String.UnicodeScalarView()
        var inWhitespace = false
        for scalar in composed.unicodeScalars {
            if scalar.properties.isWhitespace {
                if !inWhitespace { collapsed.append(" ") }
                inWhitespace = true
            } else {
                collapsed.append(scalar)
                inWhitespace = false
            }
        }
        return lowercase(String(collapsed))
    }

    /// Lower-cases scalar by scalar with the full Unicode mapping, as the `tokenizers` crate's `Lowercase` does
    /// (Rust's `char::to_lowercase`). Python's `str.lower` in the slow tokenizer differs in one place: it maps a
    /// word-final capital sigma to `ς`; this, like the fast tokenizer, gives `σ` everywhere.
    static func lowercase(_ text: String) -> String {
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            result.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
        }
        return String(result)
    }
}
