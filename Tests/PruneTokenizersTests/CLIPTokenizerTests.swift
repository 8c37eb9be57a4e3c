import Foundation
import PruneTokenizers
import Testing

/// The CLIP tokenizers the fixture variants describe, loaded once.
enum CLIPFixtureTokenizers {
    static let bundled = Result { try CLIPTokenizer.bundled() }
    static let bundledPadBang = Result { try CLIPTokenizer.bundled(padToken: "!") }
    static let smallFiles = Result { try CLIPTokenizer(directory: TokenizerFixtures.directory + "/clip-small-files") }
    static let smallPadBang = Result { try CLIPTokenizer(directory: TokenizerFixtures.directory + "/clip-small-pad2") }
    static let smallJSON = Result {
        try CLIPTokenizer(tokenizerJSON: TokenizerFixtures.directory + "/clip-small-json/tokenizer.json")
    }

    static func tokenizer(for variant: String) throws -> CLIPTokenizer {
        switch variant {
        case "clip-bundled": try bundled.get()
        case "clip-bundled-pad2": try bundledPadBang.get()
        case "clip-small-files": try smallFiles.get()
        case "clip-small-pad2": try smallPadBang.get()
        case "clip-small-json": try smallJSON.get()
        default: throw TokenizerError.missingResource(name: "fixture variant \(variant)")
        }
    }
}

@Suite("CLIP tokenizer")
struct CLIPTokenizerTests {
    @Test("every fixture variant is present")
    func fixturesPresent() {
        let names = Set(TokenizerFixtures.shared.variants.keys.filter { $0.hasPrefix("clip-") })
        #expect(names == ["clip-bundled", "clip-bundled-pad2", "clip-small-files", "clip-small-pad2", "clip-small-json"])
        #expect(TokenizerFixtures.cases(prefix: "clip-").count == 5 * 16)
    }

    @Test("ids, attention mask and untruncated length equal transformers' CLIPTokenizer",
          arguments: TokenizerFixtures.cases(prefix: "clip-"))
    func matchesTransformers(_ fixture: FixtureCase) throws {
        let tokenizer = try CLIPFixtureTokenizers.tokenizer(for: fixture.variant)
        let encoded = tokenizer.encode(fixture.expected.prompt, maxLength: fixture.maxLength)
        #expect(encoded.ids == fixture.expected.ids)
        #expect(encoded.attentionMask == fixture.expected.attentionMask)
        #expect(encoded.untruncatedCount == fixture.expected.untruncatedLength)
    }

    @Test("the bundled vocabulary is CLIP's: 49,408 tokens, BOS 49406, EOS 49407, model_max_length 77")
    func bundledVocabulary() throws {
        let tokenizer = try CLIPFixtureTokenizers.bundled.get()
        #expect(tokenizer.vocabularySize == 49408)
        #expect(tokenizer.bosID == 49406)
        #expect(tokenizer.eosID == 49407)
        #expect(tokenizer.padID == 49407)
        #expect(tokenizer.modelMaxLength == 77)
        #expect(try CLIPFixtureTokenizers.bundledPadBang.get().padID == 0)
    }

    @Test("the folder loader reads pad and model_max_length from the config files")
    func folderSpecialTokens() throws {
        #expect(try CLIPFixtureTokenizers.smallFiles.get().padID == 49407 - 48894 + 3000)
        #expect(try CLIPFixtureTokenizers.smallPadBang.get().padID == 0)
        #expect(try CLIPFixtureTokenizers.smallPadBang.get().modelMaxLength == 77)
    }

    @Test("a folder with tokenizer.json is read through it, with the pad token from special_tokens_map.json")
    func folderPrefersTokenizerJSON() throws {
        let source = TokenizerFixtures.directory + "/clip-small-json/tokenizer.json"
        let folder = try ScratchFolder([
            "tokenizer.json": try String(contentsOfFile: source, encoding: .utf8),
            "special_tokens_map.json": #"{"pad_token": "!"}"#,
        ])
        defer { folder.remove() }
        let tokenizer = try CLIPTokenizer(directory: folder.path)
        let reference = try CLIPFixtureTokenizers.smallPadBang.get()
        #expect(tokenizer.padID == 0)
        for fixture in TokenizerFixtures.shared.variants["clip-small-pad2"]?.cases ?? [] {
            #expect(tokenizer.encode(fixture.prompt) == reference.encode(fixture.prompt))
            #expect(tokenizer.encode(fixture.prompt).ids == fixture.ids)
        }
    }

    @Test("a truncated prompt keeps EOS last and reports its full length")
    func truncation() throws {
        let tokenizer = try CLIPFixtureTokenizers.bundled.get()
        let encoded = tokenizer.encode(String(repeating: "cat ", count: 100))
        #expect(encoded.ids.count == 77)
        #expect(encoded.ids.first == 49406)
        #expect(encoded.ids.last == 49407)
        #expect(encoded.untruncatedCount == 102)
        #expect(encoded.wasTruncated)
        #expect(encoded.attentionMask == [Int32](repeating: 1, count: 77))
    }

    @Test("encoding the same words twice (from the merge cache) gives the same ids")
    func cacheIsTransparent() throws {
        let tokenizer = try CLIPFixtureTokenizers.bundled.get()
        let first = tokenizer.tokenIDs("photorealistic photorealistic")
        #expect(first.count % 2 == 0)
        #expect(Array(first.prefix(first.count / 2)) == Array(first.suffix(first.count / 2)))
        #expect(tokenizer.tokenIDs("photorealistic") == Array(first.prefix(first.count / 2)))
    }
}
