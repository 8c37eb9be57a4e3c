import Foundation

/// A SentencePiece normalization table (`precompiled_charsmap`): a darts-clone double-array trie over UTF-8 keys
/// whose values point into a blob of NUL-terminated replacement strings.
///
/// This implementation matches: the `tokenizers` crate's `Precompiled` normalizer (the `spm_precompiled` crate):
/// for every extended grapheme cluster shorter than 6 UTF-8 bytes, the *first* (shortest) trie key that is a prefix
/// of the cluster's bytes replaces the whole cluster; otherwise each scalar of the cluster is looked up the same way
/// and kept when it has no entry. Layout: a little-endian `UInt32` trie size in bytes, the trie's `UInt32` units,
/// then the string blob. Grapheme clusters are Swift `Character`s, which follow the same Unicode rules as the
/// `unicode-segmentation` crate (the Unicode versions may differ for scripts added recently).
struct PrecompiledCharsMap: Sendable {
    /// The double-array units.
    private let units: [UInt32]
    /// The replacement strings, NUL-separated.
    private let normalized: [UInt8]

    /// Decodes the base64 text `tokenizer.json` stores.
    ///
    /// - Throws: `TokenizerError.invalidField` (naming `path` and `field`) when the data is not base64 or its
    ///   sizes are inconsistent.
    init(base64: String, path: String, field: String) throws(TokenizerError) {
        guard let data = Data(base64Encoded: base64) else {
            throw .invalidField(path: path, field: field, expected: "base64 data", found: "text that is not base64")
        }
        try self.init(bytes: [UInt8](data), path: path, field: field)
    }

    /// Reads the table from its raw bytes (as `spiece.model` stores them).
    ///
    /// - Throws: `TokenizerError.invalidField` (naming `path` and `field`) when the sizes are inconsistent.
    init(bytes: [UInt8], path: String, field: String) throws(TokenizerError) {
        guard bytes.count >= 4 else {
            throw .invalidField(path: path, field: field, expected: "at least 4 bytes", found: "\(bytes.count) bytes")
        }
        let trieSize = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16 | Int(bytes[3]) << 24
        guard trieSize % 4 == 0, trieSize >= 4, 4 + trieSize <= bytes.count else {
            throw .invalidField(path: path, field: field,
                                expected: "a trie size that is a multiple of 4 and fits the \(bytes.count) bytes",
                                found: "\(trieSize)")
        }
        var units = [UInt32](repeating: 0, count: trieSize / 4)
        for index in units.indices {
            let base = 4 + index * 4
            units[index] = UInt32(bytes[base]) | UInt32(bytes[base + 1]) << 8 | UInt32(bytes[base + 2]) << 16
                | UInt32(bytes[base + 3]) << 24
        }
        self.units = units
        self.normalized = Array(bytes[(4 + trieSize)...])
    }

    /// The replacement for the first key that is a prefix of `key`, or nil when there is none.
    func transform<Bytes: Collection<UInt8>>(_ key: Bytes) -> [UInt8]? {
        guard let offset = firstPrefixValue(key), offset < normalized.count else { return nil }
        var end = offset
        while end < normalized.count && normalized[end] != 0 { end += 1 }
        return Array(normalized[offset..<end])
    }

    /// darts-clone `commonPrefixSearch`, stopped at the first hit.
    private func firstPrefixValue<Bytes: Collection<UInt8>>(_ key: Bytes) -> Int? {
        guard !units.isEmpty else { return nil }
        var position = Int(Self.offset(units[0]))
        for byte in key {
            if byte == 0 { return nil }
            position ^= Int(byte)
            guard position >= 0, position < units.count else { return nil }
            let unit = units[position]
            guard Self.label(unit) == UInt32(byte) else { return nil }
            position ^= Int(Self.offset(unit))
            if Self.hasLeaf(unit) {
                guard position >= 0, position < units.count else { return nil }
                return Int(units[position] & 0x7FFF_FFFF)
            }
        }
        return nil
    }

    private static func hasLeaf(_ unit: UInt32) -> Bool { (unit >> 8) & 1 == 1 }
    private static func label(_ unit: UInt32) -> UInt32 { unit & (0x8000_0000 | 0xFF) }
    private static func offset(_ unit: UInt32) -> UInt32 { (unit >> 10) << ((unit & (1 << 9)) >> 6) }

    /// The normalized form of `text`.
    func normalize(_ text: String) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count)
        for cluster in text {
            let bytes = Array(cluster.utf8)
            if bytes.count < 6, let replacement = transform(bytes) {
                output += replacement
                continue
            }
            for scalar in cluster.unicodeScalars {
                let scalarBytes = Array(String(scalar).utf8)
                output += transform(scalarBytes) ?? scalarBytes
            }
        }
        return String(decoding: output, as: UTF8.self)
    }
}
