import Foundation
import PruneTokenizers
import Testing

/// The T5 tokenizers the fixture variants describe, loaded once.
enum T5FixtureTokenizers {
    static let unigram = Result { try T5Tokenizer(tokenizerJSON: TokenizerFixtures.directory + "/t5-unigram/tokenizer.json") }
    static let bytes = Result { try T5Tokenizer(tokenizerJSON: TokenizerFixtures.directory + "/t5-unigram-bytes/tokenizer.json") }
    static let sentencePiece = Result { try T5Tokenizer(directory: TokenizerFixtures.directory + "/t5-spm") }
    static let sentencePieceModel = Result {
        try T5Tokenizer(sentencePieceModel: TokenizerFixtures.directory + "/t5-spm/spiece.model")
    }

    static func tokenizer(for variant: String) throws -> T5Tokenizer {
        switch variant {
        case "t5-unigram": try unigram.get()
        case "t5-unigram-bytes": try bytes.get()
        case "t5-spm": try sentencePiece.get()
        default: throw TokenizerError.missingResource(name: "fixture variant \(variant)")
        }
    }
}

@Suite("T5 tokenizer")
struct T5TokenizerTests {
    @Test("every fixture variant is present")
    func fixturesPresent() {
        let names = Set(TokenizerFixtures.shared.variants.keys.filter { $0.hasPrefix("t5-") })
        #expect(names == ["t5-unigram", "t5-unigram-bytes", "t5-spm"])
        #expect(TokenizerFixtures.cases(prefix: "t5-").count == 3 * 17)
    }

    @Test("ids, attention mask and untruncated length equal transformers' T5 tokenizer",
          arguments: TokenizerFixtures.cases(prefix: "t5-"))
    func matchesTransformers(_ fixture: FixtureCase) throws {
        let tokenizer = try T5FixtureTokenizers.tokenizer(for: fixture.variant)
        let encoded = tokenizer.encode(fixture.expected.prompt, maxLength: fixture.maxLength)
        #expect(encoded.ids == fixture.expected.ids)
        #expect(encoded.attentionMask == fixture.expected.attentionMask)
        #expect(encoded.untruncatedCount == fixture.expected.untruncatedLength)
    }

    @Test("spiece.model, read directly, gives the ids of the tokenizer.json transformers converts it to",
          arguments: TokenizerFixtures.cases(prefix: "t5-spm"))
    func sentencePieceModelMatches(_ fixture: FixtureCase) throws {
        let tokenizer = try T5FixtureTokenizers.sentencePieceModel.get()
        let encoded = tokenizer.encode(fixture.expected.prompt, maxLength: fixture.maxLength)
        #expect(encoded.ids == fixture.expected.ids)
        #expect(encoded.attentionMask == fixture.expected.attentionMask)
        #expect(encoded.untruncatedCount == fixture.expected.untruncatedLength)
    }

    @Test("sentinel tokens from spiece.model are numbered from the top, as in T5's published files")
    func sentinelIDs() throws {
        let path = TokenizerFixtures.directory + "/t5-spm/spiece.model"
        let base = try T5FixtureTokenizers.sentencePieceModel.get().vocabularySize
        let tokenizer = try T5Tokenizer(sentencePieceModel: path, extraIDs: 3)
        #expect(tokenizer.tokenIDs("<extra_id_0><extra_id_2>") == [Int32(base + 2), Int32(base)])
    }

    @Test("T5's special ids: pad 0, EOS 1")
    func specialIDs() throws {
        for tokenizer in [
            try T5FixtureTokenizers.unigram.get(), try T5FixtureTokenizers.sentencePiece.get(),
            try T5FixtureTokenizers.sentencePieceModel.get(),
        ] {
            #expect(tokenizer.padID == 0)
            #expect(tokenizer.eosID == 1)
        }
    }

    @Test("an empty prompt is just EOS and padding")
    func emptyPrompt() throws {
        let encoded = try T5FixtureTokenizers.unigram.get().encode("", maxLength: 4)
        #expect(encoded.ids == [1, 0, 0, 0])
        #expect(encoded.attentionMask == [1, 0, 0, 0])
        #expect(encoded.untruncatedCount == 1)
    }
}
