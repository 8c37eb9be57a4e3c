import Foundation

/// Word-level tokenizer over a fixed vocabulary: id 0 is the pad token (also the whole null prompt of
/// classifier-free guidance), ids 1… are the words in vocabulary order. Every prompt becomes exactly
/// ``length`` ids, padded at the end.
///
/// ```swift
/// let tokenizer = PromptTokenizer.shapes
/// try tokenizer.encode("a red circle on the left")   // [1, 2, 3, 4, 5, 6, 0, 0]
/// ```
public struct PromptTokenizer: Sendable, Equatable, Codable {
    /// The words, in id order starting at 1.
    public let words: [String]
    /// Ids per prompt.
    public let length: Int

    /// The pad / null token's id.
    public static let padID = 0
    /// The pad token's spelling in ``vocabularyJSON()``.
    public static let padToken = "<pad>"

    /// - Precondition: `words` are unique, lowercase and free of whitespace; `length > 0`.
    public init(words: [String], length: Int) {
        precondition(Set(words).count == words.count, "tokenizer words must be unique")
        precondition(length > 0, "token length must be positive")
        self.words = words
        self.length = length
    }

    /// The shapes grammar's tokenizer: its 21 words, 8 ids per prompt.
    public static let shapes = PromptTokenizer(words: ShapePrompt.vocabulary, length: 8)

    /// Vocabulary size including the pad token.
    public var vocabularySize: Int { words.count + 1 }

    /// The ids of `text` (whitespace-separated, case-insensitive), padded to ``length``; the empty string
    /// gives the all-pad null prompt.
    /// - Throws: ``PromptTokenizerError`` for an unknown word or a prompt longer than ``length`` words.
    public func encode(_ text: String) throws(PromptTokenizerError) -> [Int] {
        let tokens = text.lowercased().split(whereSeparator: \.isWhitespace).map(String.init)
        guard tokens.count <= length else { throw .tooLong(text: text, words: tokens.count, limit: length) }
        var ids: [Int] = []
        for token in tokens {
            guard let index = words.firstIndex(of: token) else { throw .unknownWord(token, text: text, known: words) }
            ids.append(index + 1)
        }
        return ids + Array(repeating: Self.padID, count: length - ids.count)
    }

    /// The ids of the null prompt (all pad).
    public var nullIDs: [Int] { Array(repeating: Self.padID, count: length) }

    /// `{"<pad>": 0, "a": 1, …}` plus the length, as written next to a demo model (`tokenizer.json`).
    public func vocabularyJSON() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// Reads a `tokenizer.json` written by ``vocabularyJSON()``.
    /// - Throws: ``PromptTokenizerError/unreadable(path:reason:)``.
    public static func load(path: String) throws(PromptTokenizerError) -> PromptTokenizer {
        guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path: path, reason: "file not found") }
        let tokenizer: PromptTokenizer
        do { tokenizer = try JSONDecoder().decode(PromptTokenizer.self, from: data) } catch {
            throw .unreadable(path: path, reason: "expected {\"words\": [String], \"length\": Int}: \(error)")
        }
        guard Set(tokenizer.words).count == tokenizer.words.count, tokenizer.length > 0 else {
            throw .unreadable(path: path, reason: "words must be unique and length positive")
        }
        return tokenizer
    }
}

/// A prompt the tokenizer cannot encode, or a vocabulary file it cannot read.
public enum PromptTokenizerError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownWord(String, text: String, known: [String])
    case tooLong(text: String, words: Int, limit: Int)
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case .unknownWord(let word, let text, let known):
            "unknown word \"\(word)\" in prompt \"\(text)\"; the vocabulary is: \(known.joined(separator: " "))"
        case .tooLong(let text, let words, let limit): "prompt \"\(text)\" has \(words) words, at most \(limit) fit"
        case .unreadable(let path, let reason): "cannot read tokenizer \(path): \(reason)"
        }
    }
}
