/// A prompt encoded for a text encoder: fixed-length token ids, the matching attention mask, and how long the
/// encoding was before truncation.
///
/// This implementation matches: the `input_ids` and `attention_mask` that transformers' tokenizers return for
/// `tokenizer(prompt, padding="max_length", max_length=n, truncation=True)`, as diffusers'
/// `StableDiffusionXLPipeline.encode_prompt` and `FluxPipeline._get_clip_prompt_embeds` /
/// `_get_t5_prompt_embeds` call them. Padding is on the right.
public struct TokenizedText: Equatable, Sendable {
    /// The token ids, exactly `maxLength` of them: the encoding (special tokens included) followed by padding.
    public var ids: [Int32]
    /// 1 for every real token, 0 for every padding token; as long as `ids`.
    public var attentionMask: [Int32]
    /// The length of the encoding, special tokens included, before truncation. The pipelines warn when this exceeds
    /// `ids.count` because the end of the prompt is dropped.
    public var untruncatedCount: Int

    /// Creates an encoding from its parts.
    public init(ids: [Int32], attentionMask: [Int32], untruncatedCount: Int) {
        self.ids = ids
        self.attentionMask = attentionMask
        self.untruncatedCount = untruncatedCount
    }

    /// The ids as `Int`, for callers that index embedding tables with `Int`.
    public var intIDs: [Int] { ids.map(Int.init) }

    /// Whether the end of the prompt was cut off to fit.
    public var wasTruncated: Bool { untruncatedCount > ids.count }

    /// Lays out a sequence as the pipelines' tokenizer calls do: `prefix + body + suffix`, with the body cut so the
    /// whole fits in `maxLength`, then right-padded with `padID` to exactly `maxLength`.
    ///
    /// This matches transformers' `truncation=True` (strategy `longest_first` on a single sequence: the body is cut
    /// from the end, the special tokens are kept) followed by `padding="max_length"`. A `maxLength` smaller than the
    /// special tokens alone keeps the special tokens and cuts the whole body (transformers would refuse).
    static func layout(prefix: [Int32], body: [Int32], suffix: [Int32], maxLength: Int, padID: Int32) -> TokenizedText {
        let untruncated = prefix.count + body.count + suffix.count
        let room = max(0, maxLength - prefix.count - suffix.count)
        var ids = prefix + body.prefix(room) + suffix
        let real = ids.count
        if ids.count < maxLength { ids += [Int32](repeating: padID, count: maxLength - ids.count) }
        let mask = [Int32](repeating: 1, count: real) + [Int32](repeating: 0, count: ids.count - real)
        return TokenizedText(ids: ids, attentionMask: mask, untruncatedCount: untruncated)
    }
}
