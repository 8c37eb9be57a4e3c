import Foundation

/// CLIP's byte-level BPE tokenizer, as SDXL's two text encoders and FLUX's CLIP-L encoder use it.
///
/// This implementation matches: transformers' `CLIPTokenizerFast` (the `tokenizer.json` pipeline: NFC,
/// whitespace runs → one space, lower case; CLIP's split regex; byte-level BPE with `</w>` word ends; `<|startoftext|>`
/// … `<|endoftext|>` around the text) called as diffusers' pipelines call it, `padding="max_length",
/// max_length=77, truncation=True`. Deviations from the slow `CLIPTokenizer` (ftfy / BERT basic cleaning and HTML
/// unescaping first) are listed on `CLIPTextNormalizer`.
///
/// The padding token is the one the tokenizer files name: SDXL's `tokenizer/` pads with `<|endoftext|>` (49407),
/// its `tokenizer_2/` with `!` (id 0). Like every special token, the padding token is cut out of the prompt before
/// BPE, so with `!` padding each `!` in a prompt becomes id 0 (transformers does the same).
public struct CLIPTokenizer: Sendable {
    /// The BPE model.
    private let encoder: BytePairEncoder
    /// Splits out special tokens written literally in a prompt.
    private let specials: AddedTokenSplitter
    /// The start-of-text id (49406 for CLIP).
    public let bosID: Int32
    /// The end-of-text id (49407 for CLIP).
    public let eosID: Int32
    /// The padding id.
    public let padID: Int32
    /// `model_max_length` from the tokenizer files, 77 when they do not say.
    public let modelMaxLength: Int

    /// The number of tokens in the vocabulary.
    public var vocabularySize: Int { encoder.vocabulary.count }

    /// Builds the tokenizer from loaded files, checking that the special tokens are in the vocabulary.
    private init(files: CLIPVocabularyFiles) throws(TokenizerError) {
        func id(_ name: String, _ role: String) throws(TokenizerError) -> Int32 {
            guard let id = files.vocabulary[name] else {
                throw .vocabularyMismatch(path: files.specialTokensPath, token: name, expected: "the \(role) token")
            }
            return id
        }
        bosID = try id(files.bos, "start-of-text")
        eosID = try id(files.eos, "end-of-text")
        padID = try id(files.pad, "padding")
        let unknownID = try id(files.unk, "unknown")
        encoder = try BytePairEncoder(
            vocabulary: files.vocabulary, merges: files.merges, unknownID: unknownID, endOfWordSuffix: "</w>",
            path: files.mergesPath)
        // transformers adds every special token, the padding token included, to the vocabulary it splits out of
        // the text first: with SDXL's `tokenizer_2` (pad `!`) a prompt's "!!!" is three pad ids 0, not the token
        // "!!!".
        var specialIDs: [String: Int32] = [:]
        for (name, id) in [(files.unk, unknownID), (files.pad, padID), (files.eos, eosID), (files.bos, bosID)] {
            specialIDs[name] = id
        }
        specials = AddedTokenSplitter(tokens: specialIDs)
        modelMaxLength = files.modelMaxLength ?? 77
    }

    /// Loads a diffusers / transformers tokenizer folder: `tokenizer.json` when present, otherwise `vocab.json` +
    /// `merges.txt`; the special tokens and `model_max_length` from `special_tokens_map.json` and
    /// `tokenizer_config.json` when present.
    ///
    /// - Throws: `TokenizerError` naming the file that is missing, malformed, or inconsistent.
    public init(directory: String) throws(TokenizerError) {
        let jsonPath = (directory as NSString).appendingPathComponent("tokenizer.json")
        var files: CLIPVocabularyFiles
        if TokenizerFile.exists(jsonPath) {
            files = try CLIPVocabularyFiles.load(tokenizerJSON: jsonPath)
            try files.readSpecialTokens(directory: directory)
        } else {
            files = try CLIPVocabularyFiles.load(directory: directory)
        }
        try self.init(files: files)
    }

    /// Loads a Hugging Face `tokenizer.json` (model type BPE, CLIP's normalizer and pre-tokenizer).
    ///
    /// - Parameter padToken: the padding token; nil takes the file's `padding` section, else `<|endoftext|>`.
    /// - Throws: `TokenizerError` naming the file.
    public init(tokenizerJSON path: String, padToken: String? = nil) throws(TokenizerError) {
        var files = try CLIPVocabularyFiles.load(tokenizerJSON: path)
        if let padToken { files.pad = padToken }
        try self.init(files: files)
    }

    /// The real CLIP vocabulary bundled with PruneTokenizers (open_clip's `bpe_simple_vocab_16e6`, MIT), for SDXL
    /// single-file checkpoints that carry no tokenizer.
    ///
    /// - Parameter padToken: `<|endoftext|>` for SDXL's first encoder (CLIP-L) and FLUX; `!` for SDXL's second
    ///   (OpenCLIP bigG, `tokenizer_2`).
    /// - Throws: `TokenizerError.missingResource` naming the places searched when the merges file is not found (see
    ///   `BundledResource`: `$PRUNEKIT_RESOURCES`, beside the executable, an installed `share/prunekit`, the
    ///   checkout), `.vocabularyMismatch` if `padToken` is not a token.
    public static func bundled(padToken: String = "<|endoftext|>") throws(TokenizerError) -> CLIPTokenizer {
        var files = try CLIPVocabularyFiles.bundled()
        files.pad = padToken
        return try CLIPTokenizer(files: files)
    }

    /// The ids of `text` without start, end or padding tokens, and without truncation.
    public func tokenIDs(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        for segment in specials.split(CLIPTextNormalizer.normalize(text)) {
            switch segment {
            case .token(let id):
                ids.append(id)
            case .text(let text):
                for word in CLIPPreTokenizer.split(text) { ids += encoder.encode(word: word) }
            }
        }
        return ids
    }

    /// Encodes `text` as the pipelines do: `<|startoftext|>`, the text's tokens cut to fit, `<|endoftext|>`, then
    /// padding to exactly `maxLength` ids.
    public func encode(_ text: String, maxLength: Int = 77) -> TokenizedText {
        TokenizedText.layout(prefix: [bosID], body: tokenIDs(text), suffix: [eosID], maxLength: maxLength, padID: padID)
    }
}
