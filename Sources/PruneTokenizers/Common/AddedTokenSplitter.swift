/// Cuts a text at the special tokens it contains literally (such as `<|endoftext|>` or `</s>`), so that they are
/// encoded as their own ids and never run through the model.
///
/// This implementation matches: the `tokenizers` crate's `AddedVocabulary` split for tokens without `lstrip`,
/// `rstrip` or `single_word`: the leftmost occurrence wins, and the longest token at the same position.
struct AddedTokenSplitter: Sendable {
    /// A piece of the text: ordinary text, or one special token's id.
    enum Segment: Equatable {
        case text(String)
        case token(Int32)
    }

    /// Token content → id, tried longest first.
    private let tokens: [(content: [Unicode.Scalar], id: Int32)]

    /// A splitter for `tokens` (content → id). Empty contents are ignored.
    init(tokens: [String: Int32]) {
        self.tokens = tokens.filter { !$0.key.isEmpty }
            .map { (content: Array($0.key.unicodeScalars), id: $0.value) }
            .sorted { $0.content.count != $1.content.count ? $0.content.count > $1.content.count : $0.id < $1.id }
    }

    /// `text` as ordinary-text and special-token segments, in order (empty text segments are left out).
    func split(_ text: String) -> [Segment] {
        guard !tokens.isEmpty else { return text.isEmpty ? [] : [.text(text)] }
        let scalars = Array(text.unicodeScalars)
        var segments: [Segment] = []
        var pending = String.UnicodeScalarView()
        var index = 0
        while index < scalars.count {
            if let token = tokens.first(where: { matches($0.content, scalars, index) }) {
                if !pending.isEmpty { segments.append(.text(String(pending))) }
                pending = String.UnicodeScalarView()
                segments.append(.token(token.id))
                index += token.content.count
            } else {
                pending.append(scalars[index])
                index += 1
            }
        }
        if !pending.isEmpty { segments.append(.text(String(pending))) }
        return segments
    }

    private func matches(_ content: [Unicode.Scalar], _ scalars: [Unicode.Scalar], _ index: Int) -> Bool {
        guard content[0] == scalars[index], index + content.count <= scalars.count else { return false }
        for offset in 1..<content.count where scalars[index + offset] != content[offset] { return false }
        return true
    }
}
