/// A SentencePiece Unigram model: pieces with log-probability scores, and the best-scoring segmentation of a
/// pre-tokenized piece (Viterbi).
///
/// This implementation matches: the `tokenizers` crate's `Unigram::encode_optimized` and `Unigram::encode`:
/// positions are scanned left to right over Unicode scalars; every vocabulary piece starting there extends the
/// best path ending at its start (a later candidate replaces an earlier one only when its score is strictly
/// higher); a position no single-scalar piece covers gets the unknown token with score `min(score) − 10`;
/// consecutive unknown scalars are fused into one unknown token; with `byte_fallback`, an unknown span becomes its
/// UTF-8 bytes as `<0xXX>` pieces when all of them exist.
struct UnigramModel: Sendable {
    /// Piece (UTF-8 bytes, compared exactly: Swift `String` equality would merge canonically equivalent pieces
    /// such as `é` and `e` + U+0301, which the reference keeps apart) → id.
    let ids: [[UInt8]: Int32]
    /// Score of each id.
    let scores: [Double]
    /// The unknown piece's id.
    let unknownID: Int32
    /// Whether unknown spans fall back to `<0xXX>` byte pieces.
    let byteFallback: Bool
    /// The longest piece, in Unicode scalars.
    let longestPiece: Int
    /// The score of an unknown scalar.
    let unknownScore: Double

    /// Builds the model from `(piece, score)` pairs in id order.
    init(pieces: [(String, Double)], unknownID: Int32, byteFallback: Bool) {
        var ids: [[UInt8]: Int32] = [:]
        ids.reserveCapacity(pieces.count)
        var longest = 1
        for (index, (piece, _)) in pieces.enumerated() {
            let key = Array(piece.utf8)
            if ids[key] == nil { ids[key] = Int32(index) }
            longest = max(longest, piece.unicodeScalars.count)
        }
        self.ids = ids
        self.scores = pieces.map(\.1)
        self.unknownID = unknownID
        self.byteFallback = byteFallback
        self.longestPiece = longest
        self.unknownScore = (scores.min() ?? 0) - 10
    }

    /// The ids of one pre-tokenized piece.
    func encode(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        for token in segment(text) {
            if let id = self.ids[Array(token.utf8)] {
                ids.append(id)
            } else if byteFallback, let bytes = byteIDs(token) {
                ids += bytes
            } else {
                ids.append(unknownID)
            }
        }
        return ids
    }

    /// The `<0xXX>` ids of `token`'s bytes, or nil when one is missing.
    private func byteIDs(_ token: String) -> [Int32]? {
        var result: [Int32] = []
        for byte in token.utf8 {
            let hex = String(byte, radix: 16, uppercase: true)
            guard let id = ids[Array(("<0x" + (hex.count == 1 ? "0" : "") + hex + ">").utf8)] else { return nil }
            result.append(id)
        }
        return result
    }

    /// The best segmentation of `text` as piece strings (unknown spans as their text).
    func segment(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        let count = scalars.count
        guard count > 0 else { return [] }
        // best[end]: (score, start, id) of the best path covering scalars[0..<end].
        var bestScore = [Double](repeating: 0, count: count + 1)
        var bestStart = [Int](repeating: -1, count: count + 1)
        var bestID = [Int32](repeating: -1, count: count + 1)
        bestStart[0] = 0
        for start in 0..<count where bestStart[start] >= 0 {
            let base = bestScore[start]
            var hasSingle = false
            var candidate: [UInt8] = []
            for end in (start + 1)...min(count, start + longestPiece) {
                candidate.append(contentsOf: String(scalars[end - 1]).utf8)
                guard let id = ids[candidate] else { continue }
                let score = base + scores[Int(id)]
                if bestStart[end] < 0 || score > bestScore[end] {
                    bestScore[end] = score
                    bestStart[end] = start
                    bestID[end] = id
                }
                if end == start + 1 { hasSingle = true }
            }
            if !hasSingle {
                let score = base + unknownScore
                if bestStart[start + 1] < 0 || score > bestScore[start + 1] {
                    bestScore[start + 1] = score
                    bestStart[start + 1] = start
                    bestID[start + 1] = unknownID
                }
            }
        }
        var tokens: [String] = []
        var unknownRun: [String] = []
        var end = count
        while end > 0 {
            let start = bestStart[end]
            var piece = String.UnicodeScalarView()
            piece.append(contentsOf: scalars[start..<end])
            if bestID[end] == unknownID {
                unknownRun.append(String(piece))
            } else {
                if !unknownRun.isEmpty { tokens.append(unknownRun.reversed().joined()) }
                unknownRun = []
                tokens.append(String(piece))
            }
            end = start
        }
        if !unknownRun.isEmpty { tokens.append(unknownRun.reversed().joined()) }
        return tokens.reversed()
    }
}
