import PruneTokenizers
import Testing

@Suite("Tokenized text layout")
struct TokenizedTextTests {
    @Test("a tiny T5 tokenizer (\"ab ab\" → ▁ ab ▁ ab) pads on the right and keeps EOS when truncating", arguments: [
        (maxLength: 8, ids: [Int32]([3, 4, 3, 4, 1, 0, 0, 0]), untruncated: 5),
        (maxLength: 5, ids: [Int32]([3, 4, 3, 4, 1]), untruncated: 5),
        (maxLength: 3, ids: [Int32]([3, 4, 1]), untruncated: 5),
        (maxLength: 1, ids: [Int32]([1]), untruncated: 5),
    ])
    func layout(maxLength: Int, ids: [Int32], untruncated: Int) throws {
        let folder = try ScratchFolder([
            "tokenizer.json": #"""
            {"added_tokens": [{"id": 0, "content": "<pad>"}, {"id": 1, "content": "</s>"}, {"id": 2, "content": "<unk>"}],
             "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
             "model": {"type": "Unigram", "unk_id": 2,
                       "vocab": [["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0], ["▁", -1.0], ["ab", -1.0]]}}
            """#,
        ])
        defer { folder.remove() }
        let encoded = try T5Tokenizer(tokenizerJSON: folder.file("tokenizer.json")).encode("ab ab", maxLength: maxLength)
        #expect(encoded.ids == ids)
        #expect(encoded.attentionMask == ids.map { $0 == 0 ? 0 : 1 })
        #expect(encoded.untruncatedCount == untruncated)
        #expect(encoded.intIDs == ids.map(Int.init))
    }
}
