import Foundation
import Testing
@testable import PruneTokenizers

/// A scratch folder with the given files, removed by `remove()`.
struct ScratchFolder {
    let path: String

    init(_ files: [String: String]) throws {
        path = NSTemporaryDirectory() + "prunetokenizers-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (name, contents) in files {
            try contents.write(toFile: path + "/" + name, atomically: true, encoding: .utf8)
        }
    }

    func file(_ name: String) -> String { path + "/" + name }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// A minimal consistent CLIP vocabulary: the byte characters `a`, `b`, their `</w>` forms, one merge, specials.
enum TinyCLIP {
    static let vocab = #"{"a": 0, "b": 1, "a</w>": 2, "b</w>": 3, "ab</w>": 4, "<|startoftext|>": 5, "<|endoftext|>": 6}"#
    static let merges = "#version: 0.2\na b</w>\n"
}

@Suite("Tokenizer errors")
struct TokenizerErrorTests {
    @Test("a tiny consistent folder loads and encodes")
    func tinyFolderLoads() throws {
        let folder = try ScratchFolder(["vocab.json": TinyCLIP.vocab, "merges.txt": TinyCLIP.merges])
        defer { folder.remove() }
        let tokenizer = try CLIPTokenizer(directory: folder.path)
        #expect(tokenizer.encode("ab  A", maxLength: 6).ids == [5, 4, 2, 6, 6, 6])
    }

    @Test("a vocab.json that is not JSON names the file")
    func vocabNotJSON() throws {
        let folder = try ScratchFolder(["vocab.json": "{\"a\": 0,", "merges.txt": TinyCLIP.merges])
        defer { folder.remove() }
        #expect {
            _ = try CLIPTokenizer(directory: folder.path)
        } throws: { error in
            guard case .invalidJSON(let path, _) = error as? TokenizerError else { return false }
            return path == folder.file("vocab.json")
        }
    }

    @Test("a vocab.json whose ids are not integers names the token")
    func vocabBadID() throws {
        let folder = try ScratchFolder(["vocab.json": #"{"a": "zero"}"#, "merges.txt": TinyCLIP.merges])
        defer { folder.remove() }
        #expect(throws: TokenizerError.invalidField(
            path: folder.file("vocab.json"), field: "a", expected: "a non-negative integer id", found: "a string")) {
            _ = try CLIPTokenizer(directory: folder.path)
        }
    }

    @Test("a missing merges.txt names the file and what it should hold")
    func missingMerges() throws {
        let folder = try ScratchFolder(["vocab.json": TinyCLIP.vocab])
        defer { folder.remove() }
        #expect(throws: TokenizerError.missingFile(
            path: folder.file("merges.txt"), expected: "the CLIP BPE merges, one \"a b\" pair per line")) {
            _ = try CLIPTokenizer(directory: folder.path)
        }
    }

    @Test("a missing folder reports the vocabulary file")
    func missingFolder() {
        #expect(throws: TokenizerError.missingFile(
            path: "/nonexistent/tok/vocab.json", expected: "the CLIP vocabulary, a JSON object token → id")) {
            _ = try CLIPTokenizer(directory: "/nonexistent/tok")
        }
    }

    @Test("a merge whose result is not in the vocabulary is a vocabulary mismatch")
    func mergeOutsideVocabulary() throws {
        let folder = try ScratchFolder(["vocab.json": TinyCLIP.vocab, "merges.txt": "#version: 0.2\na b</w>\nb a</w>\n"])
        defer { folder.remove() }
        #expect(throws: TokenizerError.vocabularyMismatch(
            path: folder.file("merges.txt"), token: "ba</w>", expected: "the result of merge 2")) {
            _ = try CLIPTokenizer(directory: folder.path)
        }
    }

    @Test("a merges line that is not two symbols names the line")
    func badMergesLine() throws {
        let folder = try ScratchFolder(["vocab.json": TinyCLIP.vocab, "merges.txt": "#version: 0.2\na b</w> c\n"])
        defer { folder.remove() }
        #expect(throws: TokenizerError.invalidMergesLine(path: folder.file("merges.txt"), line: 2, found: "a b</w> c")) {
            _ = try CLIPTokenizer(directory: folder.path)
        }
    }

    @Test("a pad token that is not in the vocabulary names the config file")
    func padNotInVocabulary() throws {
        let folder = try ScratchFolder([
            "vocab.json": TinyCLIP.vocab, "merges.txt": TinyCLIP.merges,
            "special_tokens_map.json": #"{"pad_token": {"content": "<pad>"}}"#,
        ])
        defer { folder.remove() }
        #expect(throws: TokenizerError.vocabularyMismatch(
            path: folder.file("special_tokens_map.json"), token: "<pad>", expected: "the padding token")) {
            _ = try CLIPTokenizer(directory: folder.path)
        }
    }

    @Test("a tokenizer.json with a WordPiece model is refused by both tokenizers")
    func wrongModelType() throws {
        let folder = try ScratchFolder(["tokenizer.json": #"{"model": {"type": "WordPiece", "vocab": {}}}"#])
        defer { folder.remove() }
        let path = folder.file("tokenizer.json")
        #expect(throws: TokenizerError.unsupportedComponent(
            path: path, component: "model type WordPiece", supported: "BPE for CLIP")) {
            _ = try CLIPTokenizer(tokenizerJSON: path)
        }
        #expect(throws: TokenizerError.unsupportedComponent(
            path: path, component: "model type WordPiece", supported: "Unigram for T5")) {
            _ = try T5Tokenizer(tokenizerJSON: path)
        }
    }

    @Test("a tokenizer.json that is not JSON, or not an object, names the file")
    func tokenizerJSONMalformed() throws {
        let folder = try ScratchFolder(["broken.json": "model: Unigram", "array.json": "[1, 2]"])
        defer { folder.remove() }
        #expect {
            _ = try T5Tokenizer(tokenizerJSON: folder.file("broken.json"))
        } throws: { error in
            guard case .invalidJSON(let path, _) = error as? TokenizerError else { return false }
            return path == folder.file("broken.json")
        }
        #expect(throws: TokenizerError.invalidField(
            path: folder.file("array.json"), field: "(top level)", expected: "a JSON object", found: "an array")) {
            _ = try T5Tokenizer(tokenizerJSON: folder.file("array.json"))
        }
    }

    @Test("an unsupported normalizer or pre-tokenizer is named with its place in the file")
    func unsupportedComponents() throws {
        let model = #""model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["</s>", 0.0], ["<pad>", 0.0]]}"#
        let folder = try ScratchFolder([
            "normalizer.json": #"{"normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "BertNormalizer"}]}, "#
                + model + "}",
            "pretokenizer.json": #"{"pre_tokenizer": {"type": "ByteLevel"}, "# + model + "}",
        ])
        defer { folder.remove() }
        #expect(throws: TokenizerError.unsupportedComponent(
            path: folder.file("normalizer.json"), component: "normalizer BertNormalizer at normalizer.normalizers[1]",
            supported: "Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Replace, Strip, Prepend, Precompiled")) {
            _ = try T5Tokenizer(tokenizerJSON: folder.file("normalizer.json"))
        }
        #expect(throws: TokenizerError.unsupportedComponent(
            path: folder.file("pretokenizer.json"), component: "pre-tokenizer ByteLevel at pre_tokenizer",
            supported: "Sequence, WhitespaceSplit, Metaspace")) {
            _ = try T5Tokenizer(tokenizerJSON: folder.file("pretokenizer.json"))
        }
    }

    @Test("a T5 folder with neither tokenizer.json nor spiece.model names both")
    func emptyT5Folder() throws {
        let folder = try ScratchFolder([:])
        defer { folder.remove() }
        #expect(throws: TokenizerError.missingFile(
            path: folder.file("tokenizer.json"), expected: "T5's tokenizer.json (or spiece.model beside it)")) {
            _ = try T5Tokenizer(directory: folder.path)
        }
    }

    @Test("a spiece.model that is not protobuf names the file and the message", arguments: [
        ("truncated varint", [UInt8]([0x0A, 0xFF])),
        ("length past the end", [0x0A, 0x20, 0x0A]),
        ("wire type 3", [0x0B]),
        ("no pieces", []),
        ("piece without text", [0x0A, 0x02, 0x18, 0x01]),
    ])
    func malformedSentencePiece(name: String, bytes: [UInt8]) throws {
        let folder = try ScratchFolder([:])
        defer { folder.remove() }
        let path = folder.file("spiece.model")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try T5Tokenizer(directory: folder.path)
        } throws: { error in
            switch error as? TokenizerError {
            case .invalidField(let errorPath, let field, _, _): errorPath == path && field.hasPrefix("ModelProto")
            case .missingField(let errorPath, let field): errorPath == path && field.hasPrefix("ModelProto.pieces[0]")
            default: false
            }
        }
    }

    @Test("every error's description names the file")
    func descriptionsNameTheFile() {
        let errors: [TokenizerError] = [
            .missingFile(path: "/x/vocab.json", expected: "a vocabulary"),
            .invalidJSON(path: "/x/vocab.json", reason: "bad"),
            .vocabularyMismatch(path: "/x/merges.txt", token: "ab", expected: "the result of merge 1"),
            .unsupportedComponent(path: "/x/tokenizer.json", component: "model type WordPiece", supported: "BPE"),
        ]
        for error in errors { #expect(error.description.hasPrefix("/x/")) }
    }
}

/// Where the bundled CLIP merges are looked for.
@Suite struct BundledResourceTests {
    @Test("PRUNEKIT_RESOURCES is searched first, and a missing file is an error that names every place searched")
    func searchOrder() throws {
        let places = BundledResource.candidates(for: "x.txt", environment: ["PRUNEKIT_RESOURCES": "/opt/res"])
        #expect(places.first == "/opt/res/x.txt")
        #expect(places.contains { $0.hasSuffix("PruneKit_PruneTokenizers.resources/x.txt") })
        #expect(places.last?.hasSuffix("Sources/PruneTokenizers/Resources/x.txt") == true)
        #expect(throws: TokenizerError.self) { try BundledResource.path(of: "no-such-resource.txt") }
        #expect(try BundledResource.path(of: "clip-merges.txt").hasSuffix("clip-merges.txt"))
    }
}
