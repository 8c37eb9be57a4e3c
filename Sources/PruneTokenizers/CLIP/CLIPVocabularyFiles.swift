import Foundation

/// The vocabulary, merges and special tokens of a CLIP tokenizer, read from one of the forms it ships in.
struct CLIPVocabularyFiles {
    /// Token → id.
    var vocabulary: [String: Int32]
    /// Merges in rank order.
    var merges: [(String, String)]
    /// The file the merges came from, for errors.
    var mergesPath: String
    /// Special token names.
    var bos = "<|startoftext|>", eos = "<|endoftext|>", unk = "<|endoftext|>", pad = "<|endoftext|>"
    /// `model_max_length` from `tokenizer_config.json`, when given.
    var modelMaxLength: Int?
    /// The file that named the special tokens, for errors.
    var specialTokensPath: String

    /// How many merges CLIP uses: `49152 - 256 - 2` (transformers' `tokenization_clip.py` reads
    /// `merges[1 : 49152 - 256 - 2 + 1]`, open_clip the same slice of its bpe file).
    static let mergeCount = 49152 - 256 - 2

    /// The merges of a `merges.txt`-style text: the first line (`#version: …`) is skipped, then at most `limit`
    /// lines of two space-separated symbols are read.
    ///
    /// - Throws: `TokenizerError.invalidMergesLine` for a line that is not two symbols.
    static func parseMerges(_ text: String, path: String, limit: Int?) throws(TokenizerError) -> [(String, String)] {
        var merges: [(String, String)] = []
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            if lineNumber == 1 { continue }
            if let limit, merges.count >= limit { break }
            let trimmed = line.hasSuffix("\r") ? line.dropLast() : line
            if trimmed.isEmpty && lineNumber > 1 { continue }
            let parts = trimmed.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 2 else {
                throw .invalidMergesLine(path: path, line: lineNumber, found: String(trimmed))
            }
            merges.append((String(parts[0]), String(parts[1])))
        }
        return merges
    }

    /// Reads a diffusers `tokenizer/` folder without `tokenizer.json`: `vocab.json`, `merges.txt`, and the special
    /// tokens from `special_tokens_map.json` (preferred, as transformers applies it last) or `tokenizer_config.json`.
    static func load(directory: String) throws(TokenizerError) -> CLIPVocabularyFiles {
        let vocabPath = (directory as NSString).appendingPathComponent("vocab.json")
        let mergesPath = (directory as NSString).appendingPathComponent("merges.txt")
        let vocabJSON = try TokenizerFile.jsonObject(vocabPath, expected: "the CLIP vocabulary, a JSON object token → id")
        var vocabulary: [String: Int32] = [:]
        vocabulary.reserveCapacity(vocabJSON.values.count)
        for (token, value) in vocabJSON.values {
            guard let id = JSONObject.integer(value), id >= 0, id <= Int(Int32.max) else {
                throw .invalidField(path: vocabPath, field: token, expected: "a non-negative integer id",
                                    found: JSONObject.kind(of: value))
            }
            vocabulary[token] = Int32(id)
        }
        let mergesText = try TokenizerFile.text(mergesPath, expected: "the CLIP BPE merges, one \"a b\" pair per line")
        let merges = try parseMerges(mergesText, path: mergesPath, limit: mergeCount)
        var files = CLIPVocabularyFiles(
            vocabulary: vocabulary, merges: merges, mergesPath: mergesPath, specialTokensPath: vocabPath)
        try files.readSpecialTokens(directory: directory)
        return files
    }

    /// Applies `special_tokens_map.json` and `tokenizer_config.json` from `directory` when they exist: special
    /// tokens from the first file that names each, `model_max_length` from the config.
    mutating func readSpecialTokens(directory: String) throws(TokenizerError) {
        let mapPath = (directory as NSString).appendingPathComponent("special_tokens_map.json")
        let configPath = (directory as NSString).appendingPathComponent("tokenizer_config.json")
        let map = TokenizerFile.exists(mapPath) ? try TokenizerFile.jsonObject(mapPath, expected: "a JSON object naming the special tokens") : nil
        let config = TokenizerFile.exists(configPath) ? try TokenizerFile.jsonObject(configPath, expected: "a JSON object of tokenizer settings") : nil
        let keys: [(String, WritableKeyPath<CLIPVocabularyFiles, String>)] = [
            ("bos_token", \.bos), ("eos_token", \.eos), ("unk_token", \.unk), ("pad_token", \.pad),
        ]
        for (key, keyPath) in keys {
            for file in [map, config].compactMap({ $0 }) {
                if let name = try Self.tokenName(file, key) {
                    self[keyPath: keyPath] = name
                    specialTokensPath = file.path
                    break
                }
            }
        }
        if let config, let length = try config.optionalInt("model_max_length") { modelMaxLength = length }
    }

    /// A special token written either as a string or as an `AddedToken` object with `content`.
    static func tokenName(_ file: JSONObject, _ key: String) throws(TokenizerError) -> String? {
        guard let value = file.raw(key) else { return nil }
        if let name = value as? String { return name }
        let object = try file.nested(value, field: key, expected: "a string or an object with \"content\"")
        return try object.string("content")
    }
}

extension CLIPVocabularyFiles {
    /// The name of the bundled merges resource.
    static let bundledMergesName = "clip-merges.txt"

    /// The CLIP vocabulary bundled with PruneTokenizers: open_clip's `bpe_simple_vocab_16e6.txt` (MIT licence, see
    /// `Resources/open_clip-LICENSE.txt`), stored uncompressed as `Resources/clip-merges.txt` with only the 48,894
    /// merges CLIP uses, so no gzip support is needed.
    ///
    /// This implementation matches: the vocabulary transformers' `CLIPTokenizer` and open_clip's `SimpleTokenizer`
    /// build from that file: the 256 byte characters (in `bytes_to_unicode` order), the same 256 with `</w>`, one
    /// token per merge, then `<|startoftext|>` and `<|endoftext|>` — 49,408 tokens.
    static func bundled() throws(TokenizerError) -> CLIPVocabularyFiles {
        let path = try BundledResource.path(of: bundledMergesName)
        let merges = try parseMerges(
            try TokenizerFile.text(path, expected: "the bundled CLIP merges"), path: path, limit: mergeCount)
        guard merges.count == mergeCount else {
            throw .invalidField(path: path, field: "(line count)", expected: "\(mergeCount) merges",
                                found: "\(merges.count)")
        }
        var tokens: [String] = []
        tokens.reserveCapacity(49408)
        let byteOrder = (0..<256).filter { ByteLevelAlphabet.isPrintable($0) } + (0..<256).filter {
            !ByteLevelAlphabet.isPrintable($0)
        }
        let bytes = byteOrder.map { String(Character(ByteLevelAlphabet.scalars[$0])) }
        tokens += bytes
        tokens += bytes.map { $0 + "</w>" }
        tokens += merges.map { $0.0 + $0.1 }
        tokens += ["<|startoftext|>", "<|endoftext|>"]
        var vocabulary: [String: Int32] = [:]
        vocabulary.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() { vocabulary[token] = Int32(id) }
        return CLIPVocabularyFiles(vocabulary: vocabulary, merges: merges, mergesPath: path, specialTokensPath: path)
    }

    /// Reads a Hugging Face `tokenizer.json` whose model is CLIP's byte-level BPE (`end_of_word_suffix` `</w>`).
    ///
    /// The normalizer and pre-tokenizer are checked to be CLIP's (NFC / whitespace `Replace` / `Lowercase`; a
    /// `Split` and `ByteLevel`) and then run as `CLIPTextNormalizer` and `CLIPPreTokenizer`; the start and end
    /// tokens come from a `RobertaProcessing` or `TemplateProcessing` post-processor when there is one, the pad
    /// token from the `padding` section when there is one.
    static func load(tokenizerJSON path: String) throws(TokenizerError) -> CLIPVocabularyFiles {
        let root = try TokenizerFile.jsonObject(path, expected: "a Hugging Face tokenizer.json with a BPE model")
        let model = try root.object("model")
        let type = try model.optionalString("type") ?? "BPE"
        guard type == "BPE" else {
            throw .unsupportedComponent(path: path, component: "model type \(type)", supported: "BPE for CLIP")
        }
        let suffix = try model.optionalString("end_of_word_suffix") ?? ""
        guard suffix == "</w>" else {
            throw .invalidField(path: path, field: "model.end_of_word_suffix", expected: "\"</w>\" (CLIP's BPE)",
                                found: suffix.debugDescription)
        }
        try checkComponents(root.optionalObject("normalizer"), allowed: ["Sequence", "NFC", "Replace", "Lowercase"],
                            what: "normalizer", path: path)
        try checkComponents(root.optionalObject("pre_tokenizer"), allowed: ["Sequence", "Split", "ByteLevel"],
                            what: "pre-tokenizer", path: path)
        let vocabJSON = try model.object("vocab")
        var vocabulary: [String: Int32] = [:]
        for (token, value) in vocabJSON.values {
            guard let id = JSONObject.integer(value), id >= 0, id <= Int(Int32.max) else {
                throw .invalidField(path: path, field: "model.vocab.\(token)", expected: "a non-negative integer id",
                                    found: JSONObject.kind(of: value))
            }
            vocabulary[token] = Int32(id)
        }
        var merges: [(String, String)] = []
        for (index, entry) in try model.array("merges").enumerated() {
            if let line = entry as? String {
                let parts = line.split(separator: " ", omittingEmptySubsequences: true)
                guard parts.count == 2 else { throw .invalidMergesLine(path: path, line: index + 1, found: line) }
                merges.append((String(parts[0]), String(parts[1])))
            } else if let pair = entry as? [String], pair.count == 2 {
                merges.append((pair[0], pair[1]))
            } else {
                throw .invalidField(path: path, field: "model.merges[\(index)]",
                                    expected: "\"a b\" or [\"a\", \"b\"]", found: JSONObject.kind(of: entry))
            }
        }
        var files = CLIPVocabularyFiles(vocabulary: vocabulary, merges: merges, mergesPath: path, specialTokensPath: path)
        for (index, entry) in try root.optionalArray("added_tokens").enumerated() {
            let token = try root.nested(entry, field: "added_tokens[\(index)]")
            let content = try token.string("content")
            if let id = try token.optionalInt("id") { files.vocabulary[content] = Int32(id) }
        }
        if let unk = try model.optionalString("unk_token") { files.unk = unk }
        if let processor = try root.optionalObject("post_processor") {
            if let cls = processor.raw("cls") as? [Any], let name = cls.first as? String { files.bos = name }
            if let sep = processor.raw("sep") as? [Any], let name = sep.first as? String { files.eos = name }
        }
        if let padding = try root.optionalObject("padding"), let pad = try padding.optionalString("pad_token") {
            files.pad = pad
        }
        return files
    }

    /// Throws unless every `type` in `component` (recursing into `Sequence`s) is in `allowed`.
    private static func checkComponents(
        _ component: JSONObject?, allowed: Set<String>, what: String, path: String
    ) throws(TokenizerError) {
        guard let component else { return }
        let type = try component.string("type")
        guard allowed.contains(type) else {
            throw .unsupportedComponent(path: path, component: "\(what) \(type) for CLIP",
                                        supported: allowed.sorted().joined(separator: ", "))
        }
        for key in ["normalizers", "pretokenizers"] where component.has(key) {
            for (index, child) in try component.array(key).enumerated() {
                try checkComponents(component.nested(child, field: component.name("\(key)[\(index)]")),
                                    allowed: allowed, what: what, path: path)
            }
        }
    }
}
