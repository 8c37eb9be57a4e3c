import Foundation
import PruneDemoTestSupport
import PruneTensor
import Testing

@testable import PruneDemo

@Suite("Prompt tokenizer and text encoder")
struct PromptTokenizerTests {
    let tokenizer = PromptTokenizer.shapes

    @Test("prompts become 8 ids in vocabulary order, padded with 0")
    func encoding() throws {
        #expect(tokenizer.vocabularySize == 22)
        let ids = try tokenizer.encode("a red circle on the left")
        #expect(ids == [1, 2, 3, 4, 5, 6, 0, 0])
        #expect(try tokenizer.encode("  A RED   circle on the LEFT ") == ids)
        #expect(try tokenizer.encode("") == tokenizer.nullIDs)
        #expect(tokenizer.nullIDs == Array(repeating: 0, count: 8))
        let distinct = Set(try ShapePrompt.all.map { try tokenizer.encode($0.text) })
        #expect(distinct.count == 72)
    }

    @Test("an unknown word or an over-long prompt is a clear error")
    func errors() {
        #expect(throws: PromptTokenizerError.unknownWord("purple", text: "a purple circle", known: tokenizer.words)) {
            try tokenizer.encode("a purple circle")
        }
        #expect(throws: PromptTokenizerError.tooLong(text: "a a a a a a a a a", words: 9, limit: 8)) {
            try tokenizer.encode("a a a a a a a a a")
        }
        let message = "\(PromptTokenizerError.unknownWord("purple", text: "a purple circle", known: tokenizer.words))"
        #expect(message.contains("purple") && message.contains("circle"))
    }

    @Test("the vocabulary file round-trips and a malformed one names the file")
    func vocabularyFile() throws {
        let path = NSTemporaryDirectory() + "tokenizer-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try tokenizer.vocabularyJSON().write(to: URL(fileURLWithPath: path))
        #expect(try PromptTokenizer.load(path: path) == tokenizer)
        try Data("{\"words\": 3}".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: PromptTokenizerError.self) { try PromptTokenizer.load(path: path) }
    }

    @Test("the encoder gives [B, 8, W] tokens and their mean as the pooled vector, and trains by autodiff")
    func encoder() throws {
        let model = try TinyDemoModels.model(.flux)
        let (tokens, pooled) = try model.encode(["two red circles", nil, "a blue square at the top"])
        #expect(tokens.shape == [3, 8, 16])
        #expect(pooled.shape == [3, 16])
        let values = tokens.scalars()
        let pooledValues = pooled.scalars()
        for dimension in 0..<16 {
            let mean = (0..<8).map { values[$0 * 16 + dimension] }.reduce(0, +) / 8
            #expect(abs(mean - pooledValues[dimension]) < 1e-5)
        }
        // Different prompts give different embeddings.
        #expect(Array(values[0..<128]) != Array(values[128..<256]))

        model.textEncoderParameters.setRequiresGradient(true)
        let loss = try model.encode(["two red circles"]).pooled.sum()
        loss.backward()
        let table = model.textEncoderParameters.parameters["embeddings.token_embedding.weight"]!
        let gradient = try #require(table.gradient).scalars()
        // Only the ids in the prompt (pad, two, red, circles) receive a gradient.
        let used = Set(try tokenizer.encode("two red circles"))
        for id in 0..<22 {
            let norm = (0..<16).map { abs(gradient[id * 16 + $0]) }.reduce(0, +)
            #expect((norm > 0) == used.contains(id), "token \(id)")
        }
    }
}
