/// Why a tokenizer could not be loaded. Every case names the file (or resource) it is about and what was expected
/// there, so a caller can print one clear line.
public enum TokenizerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A file the tokenizer needs does not exist. `expected` says what the file should have held.
    case missingFile(path: String, expected: String)
    /// The file exists but could not be read, or is not UTF-8 text.
    case unreadableFile(path: String, reason: String)
    /// The file is not valid JSON (`reason` is the parser's message).
    case invalidJSON(path: String, reason: String)
    /// A required field is absent. `field` is a dotted path such as `model.vocab`.
    case missingField(path: String, field: String)
    /// A field holds the wrong kind of value.
    case invalidField(path: String, field: String, expected: String, found: String)
    /// A line of a merges file is not two space-separated symbols.
    case invalidMergesLine(path: String, line: Int, found: String)
    /// The vocabulary and the merges (or the special tokens) disagree: a merge or special token names a token that
    /// is not in the vocabulary.
    case vocabularyMismatch(path: String, token: String, expected: String)
    /// The file asks for a component (model type, normalizer, pre-tokenizer, …) this package does not implement.
    case unsupportedComponent(path: String, component: String, supported: String)
    /// A resource bundled with PruneTokenizers is missing from the installed resource bundle.
    case missingResource(name: String)

    public var description: String {
        switch self {
        case .missingFile(let path, let expected):
            "\(path): file not found (expected \(expected))"
        case .unreadableFile(let path, let reason):
            "\(path): cannot read the file: \(reason)"
        case .invalidJSON(let path, let reason):
            "\(path): not valid JSON: \(reason)"
        case .missingField(let path, let field):
            "\(path): missing field \"\(field)\""
        case .invalidField(let path, let field, let expected, let found):
            "\(path): field \"\(field)\" should be \(expected), found \(found)"
        case .invalidMergesLine(let path, let line, let found):
            "\(path): line \(line) should be two symbols separated by one space, found \(found.debugDescription)"
        case .vocabularyMismatch(let path, let token, let expected):
            "\(path): token \(token.debugDescription) is not in the vocabulary (expected \(expected))"
        case .unsupportedComponent(let path, let component, let supported):
            "\(path): unsupported \(component) (supported: \(supported))"
        case .missingResource(let name):
            "PruneTokenizers resource \(name) is missing from the installed resource bundle"
        }
    }
}
