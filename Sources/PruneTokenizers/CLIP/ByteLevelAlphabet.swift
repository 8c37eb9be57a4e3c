/// The reversible byte → printable-character table of byte-level BPE: every byte becomes one Unicode scalar that is
/// not whitespace or a control character, so BPE can run on text.
///
/// This implementation matches: `bytes_to_unicode()` of transformers' `tokenization_clip.py` / GPT-2 and the
/// `tokenizers` crate's `ByteLevel` pre-tokenizer. The printable bytes `!`…`~`, `¡`…`¬` and `®`…`ÿ` map to
/// themselves; the other 68 bytes map, in byte order, to U+0100, U+0101, ….
enum ByteLevelAlphabet {
    /// `scalars[byte]` is the character that stands for `byte`.
    static let scalars: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if isPrintable(byte) {
                table[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                table[byte] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    /// Whether `byte` stands for itself: `!`…`~`, `¡`…`¬`, `®`…`ÿ`.
    static func isPrintable(_ byte: Int) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }

    /// The byte-level form of `text`: its UTF-8 bytes, each replaced by its character.
    static func encode(_ text: String) -> [Unicode.Scalar] {
        text.utf8.map { scalars[Int($0)] }
    }
}
