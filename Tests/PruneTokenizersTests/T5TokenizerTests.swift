import Foundation
import PruneTokenizers
import Testing

/// The T5 tokenizers the fixture variants describe, loaded once.
enum T5FixtureTokenizers {
    static let unigram = Result { try T5Tokenizer(tokenizerJSON: TokenizerFixtures.directory + "/t5-unigram/tokenizer.json") }
    static let bytes = Result { try T5Tokenizer(tokenizerJSON: TokenizerFixtures.directory + "/t5-unigram-bytes/tokenizer.json") }
    static let sentencePiece = Result { try T5Tokenizer(directory: TokenizerFixtures.directory + "/t5-spm") }

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

    @Test("T5's special ids: pad 0, EOS 1")
    func specialIDs() throws {
        for tokenizer in [try T5FixtureTokenizers.unigram.get(), try T5FixtureTokenizers.sentencePiece.get()] {
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
