import Synchronization

/// Byte-pair encoding of one pre-tokenized word over a vocabulary and a ranked merge list, with `</w>` marking the
/// end of a word and a cache of words already encoded.
///
/// This implementation matches: `CLIPTokenizer.bpe` in transformers' `tokenization_clip.py` (the word's last
/// character carries the `</w>` suffix; repeatedly merge every occurrence, left to right, of the adjacent pair with
/// the lowest merge rank until no ranked pair remains), which gives the same result as the `tokenizers` crate's
/// BPE model with `end_of_word_suffix: "</w>"` and no dropout. Symbols are vocabulary ids, and each merge maps a
/// pair of ids to its rank and the id of the merged token; a symbol that is not in the vocabulary (impossible for a
/// byte-level vocabulary) becomes the unknown token.
final class BytePairEncoder: Sendable {
    /// The merged token of a pair, and the pair's rank (lower merges first).
    struct Merge: Sendable {
        let rank: Int32
        let result: Int32
    }

    /// Token → id.
    let vocabulary: [String: Int32]
    /// `(left << 32) | right` → the merge of those two ids.
    let merges: [UInt64: Merge]
    /// The id used for symbols that are not in the vocabulary.
    let unknownID: Int32
    /// The suffix marking a word's last symbol.
    let endOfWordSuffix: String
    /// Word → ids, filled as words are encoded.
    private let cache = Mutex<[String: [Int32]]>([:])

    /// Builds the encoder from a vocabulary and merges in rank order.
    ///
    /// - Parameter path: the file the merges came from, for errors.
    /// - Throws: `TokenizerError.vocabularyMismatch` when a merge's parts or result are not in the vocabulary.
    init(
        vocabulary: [String: Int32], merges: [(String, String)], unknownID: Int32, endOfWordSuffix: String, path: String
    ) throws(TokenizerError) {
        var table: [UInt64: Merge] = [:]
        table.reserveCapacity(merges.count)
        for (rank, (left, right)) in merges.enumerated() {
            guard let leftID = vocabulary[left] else {
                throw .vocabularyMismatch(path: path, token: left, expected: "the left part of merge \(rank + 1)")
            }
            guard let rightID = vocabulary[right] else {
                throw .vocabularyMismatch(path: path, token: right, expected: "the right part of merge \(rank + 1)")
            }
            guard let resultID = vocabulary[left + right] else {
                throw .vocabularyMismatch(path: path, token: left + right, expected: "the result of merge \(rank + 1)")
            }
            let key = Self.key(leftID, rightID)
            if table[key] == nil { table[key] = Merge(rank: Int32(rank), result: resultID) }
        }
        self.vocabulary = vocabulary
        self.merges = table
        self.unknownID = unknownID
        self.endOfWordSuffix = endOfWordSuffix
    }

    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// The ids of one word (already split by the pre-tokenizer, not yet byte-mapped).
    func encode(word: String) -> [Int32] {
        if let cached = cache.withLock({ $0[word] }) { return cached }
        let ids = merge(symbols: initialSymbols(word))
        cache.withLock { $0[word] = ids }
        return ids
    }

    /// One id per byte-level character, the last one with the end-of-word suffix.
    private func initialSymbols(_ word: String) -> [Int32] {
        let characters = ByteLevelAlphabet.encode(word)
        return characters.indices.map { index in
            var symbol = String(Character(characters[index]))
            if index == characters.count - 1 { symbol += endOfWordSuffix }
            return vocabulary[symbol] ?? unknownID
        }
    }

    /// Applies merges, lowest rank first, until none applies.
    private func merge(symbols start: [Int32]) -> [Int32] {
        var symbols = start
        while symbols.count > 1 {
            var best: Merge?
            var bestPair: (Int32, Int32) = (0, 0)
            for index in 0..<(symbols.count - 1) {
                if let merge = merges[Self.key(symbols[index], symbols[index + 1])], merge.rank < (best?.rank ?? .max) {
                    best = merge
                    bestPair = (symbols[index], symbols[index + 1])
                }
            }
            guard let chosen = best else { break }
            var merged: [Int32] = []
            merged.reserveCapacity(symbols.count)
            var index = 0
            while index < symbols.count {
                if index < symbols.count - 1 && symbols[index] == bestPair.0 && symbols[index + 1] == bestPair.1 {
                    merged.append(chosen.result)
                    index += 2
                } else {
                    merged.append(symbols[index])
                    index += 1
                }
            }
            symbols = merged
        }
        return symbols
    }
}
