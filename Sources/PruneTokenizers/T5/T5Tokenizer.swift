import Foundation

/// T5's SentencePiece Unigram tokenizer, as FLUX's second text encoder uses it, read from a Hugging Face
/// `tokenizer.json` or a SentencePiece `spiece.model`.
///
/// This implementation matches: transformers' `T5TokenizerFast` (transformers 5: `T5Tokenizer`) over a
/// `tokenizer.json` with model type `Unigram`, called as diffusers' `FluxPipeline._get_t5_prompt_embeds` calls it:
/// `padding="max_length", max_length=max_sequence_length, truncation=True, add_special_tokens=True`. The steps are
/// the file's: special tokens written literally in the prompt (`added_tokens`, e.g. `</s>`) are cut out first; each
/// remaining span is normalized (`Normalizer`), pre-tokenized (`PreTokenizer`) and segmented (`UnigramModel`); `</s>`
/// is appended (a `TemplateProcessing` post-processor's special token, else `</s>`), the body cut so the whole fits,
/// and `<pad>` appended on the right. A SentencePiece `spiece.model` is read too, converted as transformers
/// converts it (`init(sentencePieceModel:extraIDs:)`).
public struct T5Tokenizer: Sendable {
    private let normalizer: Normalizer?
    private let preTokenizer: PreTokenizer?
    private let model: UnigramModel
    private let specials: AddedTokenSplitter
    /// The id appended after the text (`</s>`, 1 for T5).
    public let eosID: Int32
    /// The padding id (`<pad>`, 0 for T5).
    public let padID: Int32
    /// The number of pieces in the vocabulary.
    public var vocabularySize: Int { model.scores.count }

    /// Loads a `tokenizer.json` whose model is `Unigram`.
    ///
    /// - Parameters:
    ///   - eosToken: the token appended after the text; nil takes the post-processor's, else `</s>`.
    ///   - padToken: the padding token; nil takes the file's `padding` section, else `<pad>`.
    /// - Throws: `TokenizerError` naming the file: missing, not JSON, not a Unigram model, an unsupported normalizer
    ///   or pre-tokenizer, or special tokens missing from the vocabulary.
    public init(tokenizerJSON path: String, eosToken: String? = nil, padToken: String? = nil) throws(TokenizerError) {
        let root = try TokenizerFile.jsonObject(path, expected: "a Hugging Face tokenizer.json with a Unigram model")
        let modelJSON = try root.object("model")
        let type = try modelJSON.string("type")
        guard type == "Unigram" else {
            throw .unsupportedComponent(path: path, component: "model type \(type)", supported: "Unigram for T5")
        }
        var pieces: [(String, Double)] = []
        for (index, entry) in try modelJSON.array("vocab").enumerated() {
            guard let pair = entry as? [Any], pair.count == 2, let piece = pair[0] as? String,
                  let score = JSONObject.double(pair[1])
            else {
                throw .invalidField(path: path, field: "model.vocab[\(index)]", expected: "[piece, score]",
                                    found: JSONObject.kind(of: entry))
            }
            pieces.append((piece, score))
        }
        guard let unknown = try modelJSON.optionalInt("unk_id") else {
            throw .missingField(path: path, field: "model.unk_id")
        }
        guard unknown >= 0, unknown < pieces.count else {
            throw .invalidField(path: path, field: "model.unk_id", expected: "an index below \(pieces.count)",
                                found: "\(unknown)")
        }
        let unigram = UnigramModel(pieces: pieces, unknownID: Int32(unknown),
                                   byteFallback: try modelJSON.bool("byte_fallback", default: false))
        let normalizer = try root.optionalObject("normalizer").map { json throws(TokenizerError) in
            try Normalizer.parse(json)
        }
        let preTokenizer = try root.optionalObject("pre_tokenizer").map { json throws(TokenizerError) in
            try PreTokenizer.parse(json)
        }

        var added: [String: Int32] = [:]
        for (index, entry) in try root.optionalArray("added_tokens").enumerated() {
            let token = try root.nested(entry, field: "added_tokens[\(index)]")
            guard let id = try token.optionalInt("id") else { throw .missingField(path: path, field: token.name("id")) }
            added[try token.string("content")] = Int32(id)
        }
        var eosName = eosToken ?? "</s>"
        if eosToken == nil, let processor = try root.optionalObject("post_processor"),
           let specialTokens = processor.raw("special_tokens") as? [String: Any], specialTokens.count == 1,
           let name = specialTokens.keys.first {
            eosName = name
        }
        var padName = padToken ?? "<pad>"
        if padToken == nil, let padding = try root.optionalObject("padding"), let name = try padding.optionalString("pad_token") {
            padName = name
        }
        try self.init(normalizer: normalizer, preTokenizer: preTokenizer, model: unigram, added: added,
                      eosName: eosName, padName: padName, path: path)
    }

    /// Reads a SentencePiece `spiece.model` (Unigram) the way transformers converts it for `T5Tokenizer`: the
    /// `Precompiled` normalizer from the model's table, `WhitespaceSplit` + `Metaspace` (prepend always), no byte
    /// fallback, control and user-defined pieces plus `</s>`, `<unk>`, `<pad>` as special tokens, and `extraIDs`
    /// sentinel tokens `<extra_id_N>` numbered as T5's published files number them (`pieces + extraIDs − 1 − N`).
    ///
    /// - Throws: `TokenizerError` naming the file: missing, malformed protobuf, not a Unigram model, or without
    ///   `</s>` / `<pad>` pieces.
    public init(sentencePieceModel path: String, extraIDs: Int = 0) throws(TokenizerError) {
        let file = try SentencePieceModelFile(path: path)
        guard file.modelType == 1 else {
            throw .unsupportedComponent(path: path, component: "SentencePiece model type \(file.modelType)",
                                        supported: "1 (Unigram) for T5")
        }
        guard file.unknownID >= 0, file.unknownID < file.pieces.count else {
            throw .invalidField(path: path, field: "ModelProto.trainer_spec.unk_id",
                                expected: "an index below \(file.pieces.count)", found: "\(file.unknownID)")
        }
        let unigram = UnigramModel(pieces: file.pieces, unknownID: Int32(file.unknownID), byteFallback: false)
        var added: [String: Int32] = [:]
        for (id, type) in file.types.enumerated() where type == 3 || type == 4 || id == file.unknownID {
            added[file.pieces[id].0] = Int32(id)
        }
        for name in ["</s>", "<pad>"] { if let id = unigram.ids[Array(name.utf8)] { added[name] = id } }
        for index in 0..<max(0, extraIDs) {
            added["<extra_id_\(index)>"] = Int32(file.pieces.count + extraIDs - 1 - index)
        }
        let normalizer: Normalizer? = try file.charsMap.map { bytes throws(TokenizerError) in
            .precompiled(try PrecompiledCharsMap(bytes: bytes, path: path, field: "ModelProto.normalizer_spec.precompiled_charsmap"))
        }
        try self.init(normalizer: normalizer, preTokenizer: .sequence([.whitespaceSplit,
                                                                        .metaspace(replacement: "▁", prepend: .always, split: true)]),
                      model: unigram, added: added, eosName: "</s>", padName: "<pad>", path: path)
    }

    /// Assembles the tokenizer from its parts, resolving the end and padding tokens.
    private init(
        normalizer: Normalizer?, preTokenizer: PreTokenizer?, model: UnigramModel, added: [String: Int32],
        eosName: String, padName: String, path: String
    ) throws(TokenizerError) {
        guard let eos = added[eosName] ?? model.ids[Array(eosName.utf8)] else {
            throw .vocabularyMismatch(path: path, token: eosName, expected: "the end-of-sequence token")
        }
        guard let pad = added[padName] ?? model.ids[Array(padName.utf8)] else {
            throw .vocabularyMismatch(path: path, token: padName, expected: "the padding token")
        }
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.model = model
        self.specials = AddedTokenSplitter(tokens: added)
        self.eosID = eos
        self.padID = pad
    }

    /// Loads a diffusers `tokenizer_2/` folder (FLUX): `tokenizer.json` when present, otherwise `spiece.model`
    /// (with `extra_ids` from `tokenizer_config.json`, 100 when it does not say, as transformers' default); the end
    /// and padding tokens from `special_tokens_map.json` / `tokenizer_config.json` when they name them.
    ///
    /// - Throws: `TokenizerError.missingFile` when the folder has neither file, or any error of the loaders.
    public init(directory: String) throws(TokenizerError) {
        let jsonPath = (directory as NSString).appendingPathComponent("tokenizer.json")
        let modelPath = (directory as NSString).appendingPathComponent("spiece.model")
        var eos: String?
        var pad: String?
        var extraIDs = 100
        for name in ["special_tokens_map.json", "tokenizer_config.json"] {
            let path = (directory as NSString).appendingPathComponent(name)
            guard TokenizerFile.exists(path) else { continue }
            let file = try TokenizerFile.jsonObject(path, expected: "a JSON object of tokenizer settings")
            if eos == nil { eos = try CLIPVocabularyFiles.tokenName(file, "eos_token") }
            if pad == nil { pad = try CLIPVocabularyFiles.tokenName(file, "pad_token") }
            if let count = try file.optionalInt("extra_ids") { extraIDs = count }
        }
        if TokenizerFile.exists(jsonPath) {
            try self.init(tokenizerJSON: jsonPath, eosToken: eos, padToken: pad)
        } else if TokenizerFile.exists(modelPath) {
            try self.init(sentencePieceModel: modelPath, extraIDs: extraIDs)
        } else {
            throw .missingFile(path: jsonPath, expected: "T5's tokenizer.json (or spiece.model beside it)")
        }
    }

    /// The ids of `text` without `</s>` or padding, and without truncation.
    public func tokenIDs(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        var atStart = true
        for segment in specials.split(text) {
            switch segment {
            case .token(let id):
                ids.append(id)
            case .text(let span):
                let normalized = normalizer?.apply(span) ?? span
                var pieces = [PreTokenizer.Piece(text: normalized, startsInput: atStart)]
                if let preTokenizer { pieces = preTokenizer.apply(pieces) }
                for piece in pieces { ids += model.encode(piece.text) }
            }
            atStart = false
        }
        return ids
    }

    /// Encodes `text` as FLUX does: the text's pieces cut to `maxLength − 1`, `</s>`, then `<pad>` up to exactly
    /// `maxLength` ids (512 for FLUX.1-dev, 256 for schnell).
    public func encode(_ text: String, maxLength: Int) -> TokenizedText {
        TokenizedText.layout(prefix: [], body: tokenIDs(text), suffix: [eosID], maxLength: maxLength, padID: padID)
    }
}
