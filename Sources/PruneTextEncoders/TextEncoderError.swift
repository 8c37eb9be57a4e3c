import PruneNN

/// Errors loading a text encoder or running it on token ids.
public enum TextEncoderError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The model folder's `config.json` is missing, malformed or unsupported.
    case configuration(TextEncoderConfigurationError)
    /// No weights file in `directory`; `tried` lists the file names looked for.
    case noWeights(directory: String, tried: [String])
    /// A weights file or shard index could not be opened.
    case weightFile(CheckpointFileError)
    /// The weights do not match the configuration: every missing, mis-shaped, unexpected and unreadable key.
    case weights(CheckpointError)
    /// The batch has no rows, or its rows no tokens.
    case emptyInput
    /// Row `row` has `length` tokens where row 0 has `expected`: a batch must be rectangular.
    case raggedBatch(row: Int, length: Int, expected: Int)
    /// The rows have `length` tokens; the model has position embeddings for `maximum`.
    case sequenceTooLong(length: Int, maximum: Int)
    /// Token `id` at (`row`, `position`) is outside the vocabulary `0..<vocabularySize`.
    case tokenOutOfRange(row: Int, position: Int, id: Int, vocabularySize: Int)
    /// The attention mask's shape differs from the token ids' (`[rows, tokens]` each), or holds values other than 0 and 1.
    case badAttentionMask(reason: String)

    public var description: String {
        switch self {
        case .configuration(let error): error.description
        case .noWeights(let directory, let tried): "no text-encoder weights in \(directory) (looked for \(tried.joined(separator: ", ")))"
        case .weightFile(let error): error.description
        case .weights(let error): error.description
        case .emptyInput: "the token batch is empty"
        case .raggedBatch(let row, let length, let expected):
            "token row \(row) has \(length) tokens, row 0 has \(expected): a batch must have one length"
        case .sequenceTooLong(let length, let maximum):
            "\(length) tokens exceed the model's \(maximum) positions"
        case .tokenOutOfRange(let row, let position, let id, let vocabularySize):
            "token id \(id) at row \(row), position \(position) is outside the vocabulary 0..<\(vocabularySize)"
        case .badAttentionMask(let reason): "bad attention mask: \(reason)"
        }
    }
}

/// Validation of token-id batches shared by the encoders.
enum TokenBatch {
    /// Checks that `ids` is a non-empty rectangular batch of ids in `0..<vocabularySize`, at most `maximumLength` long.
    /// - Returns: `(rows, tokens)`.
    static func validate(_ ids: [[Int]], vocabularySize: Int, maximumLength: Int? = nil) throws(TextEncoderError)
        -> (rows: Int, tokens: Int)
    {
        guard let first = ids.first, !first.isEmpty else { throw .emptyInput }
        for (row, tokens) in ids.enumerated() where tokens.count != first.count {
            throw .raggedBatch(row: row, length: tokens.count, expected: first.count)
        }
        if let maximumLength, first.count > maximumLength {
            throw .sequenceTooLong(length: first.count, maximum: maximumLength)
        }
        for (row, tokens) in ids.enumerated() {
            if let position = tokens.firstIndex(where: { $0 < 0 || $0 >= vocabularySize }) {
                throw .tokenOutOfRange(row: row, position: position, id: tokens[position], vocabularySize: vocabularySize)
            }
        }
        return (ids.count, first.count)
    }
}
