import Foundation
import PruneTestSupport
import PruneTokenizers
import Testing

/// The expected encodings in `Tests/Fixtures/tokenizers/expected.json` (made by
/// `Tests/Fixtures/make_tokenizer_fixtures.py` from transformers' tokenizers).
struct TokenizerFixtures: Decodable {
    /// One prompt and what transformers returned for it.
    struct Case: Decodable, Sendable {
        let prompt: String
        let ids: [Int32]
        let attentionMask: [Int32]
        let untruncatedLength: Int

        enum CodingKeys: String, CodingKey {
            case prompt, ids
            case attentionMask = "attention_mask"
            case untruncatedLength = "untruncated_length"
        }
    }

    /// One tokenizer configuration and its cases.
    struct Variant: Decodable, Sendable {
        let source: String
        let maxLength: Int
        let padToken: String?
        let cases: [Case]

        enum CodingKeys: String, CodingKey {
            case source, cases
            case maxLength = "max_length"
            case padToken = "pad_token"
        }
    }

    let variants: [String: Variant]

    /// The folder holding the tokenizer fixtures.
    static let directory = Fixtures.path("tokenizers")

    /// The parsed `expected.json` (a test failure, not a crash, if it is missing: callers get an empty set).
    static let shared: TokenizerFixtures = {
        let url = URL(fileURLWithPath: directory).appendingPathComponent("expected.json")
        guard let data = try? Data(contentsOf: url),
              let fixtures = try? JSONDecoder().decode(TokenizerFixtures.self, from: data)
        else { return TokenizerFixtures(variants: [:]) }
        return fixtures
    }()

    /// Every case of the variants whose names start with `prefix`, tagged with the variant name.
    static func cases(prefix: String) -> [FixtureCase] {
        shared.variants.keys.sorted().filter { $0.hasPrefix(prefix) }.flatMap { name in
            shared.variants[name]!.cases.enumerated().map { FixtureCase(variant: name, index: $0.offset, expected: $0.element) }
        }
    }
}

/// One fixture prompt of one tokenizer variant, named for the test report.
struct FixtureCase: Sendable, CustomTestStringConvertible {
    let variant: String
    let index: Int
    let expected: TokenizerFixtures.Case

    var testDescription: String {
        let prompt = expected.prompt.count > 40 ? String(expected.prompt.prefix(40)) + "…" : expected.prompt
        return "\(variant) #\(index) \(prompt.debugDescription)"
    }

    var maxLength: Int { TokenizerFixtures.shared.variants[variant]?.maxLength ?? 0 }
}
