import Foundation
import PruneTensor
import PruneTextEncoders
import PruneTokenizers

/// The conditioning of FLUX's two text encoders: what `FluxPipeline.encode_prompt` returns.
///
/// `pooled_prompt_embeds [1, 768]` is CLIP ViT-L's `pooler_output` (the final-layer-norm state at the end token)
/// of the prompt padded/truncated to 77 tokens; `prompt_embeds [1, N, 4096]` is T5's `last_hidden_state` of the
/// prompt padded/truncated to `max_sequence_length` N (default 512; at most 512) with `</s>` appended, with no
/// attention mask (FLUX attends to padding). A negative prompt (true CFG) is encoded the same way into
/// `negative_prompt_embeds` / `negative_pooled_prompt_embeds`. (`text_ids` are zeros and are made by the sampler.)
///
/// This implementation matches: diffusers 0.42 `FluxPipeline.encode_prompt` (`_get_clip_prompt_embeds`,
/// `_get_t5_prompt_embeds`) with `num_images_per_prompt = 1` and `prompt_2 = prompt`.
public struct FluxTextConditioner: @unchecked Sendable {
    public var tokenizer: CLIPTokenizer
    public var textEncoder: CLIPTextModel
    public var tokenizer2: T5Tokenizer
    public var textEncoder2: T5EncoderModel

    public init(tokenizer: CLIPTokenizer, textEncoder: CLIPTextModel, tokenizer2: T5Tokenizer, textEncoder2: T5EncoderModel) {
        self.tokenizer = tokenizer
        self.textEncoder = textEncoder
        self.tokenizer2 = tokenizer2
        self.textEncoder2 = textEncoder2
    }

    /// The tensors under diffusers' names.
    /// - Throws: ``PipelineError/badSetting(_:)`` for a `maxSequenceLength` outside 1…512, and
    ///   ``PipelineError/encoder(component:reason:)`` when an encoder rejects the ids.
    public func encode(prompt: String, negativePrompt: String? = nil, maxSequenceLength: Int = 512) throws(PipelineError) -> [String: Tensor] {
        guard (1...512).contains(maxSequenceLength) else {
            throw .badSetting("max_sequence_length must be in 1…512 (FluxPipeline's limit), got \(maxSequenceLength)")
        }
        var tensors = try embeddings(prompt, maxSequenceLength: maxSequenceLength, prefix: "")
        if let negativePrompt {
            tensors.merge(try embeddings(negativePrompt, maxSequenceLength: maxSequenceLength, prefix: "negative_")) { $1 }
        }
        return tensors
    }

    private func embeddings(_ text: String, maxSequenceLength: Int, prefix: String) throws(PipelineError) -> [String: Tensor] {
        let clipIDs = tokenizer.encode(text, maxLength: tokenizer.modelMaxLength).intIDs
        let pooled: Tensor
        do { pooled = try textEncoder([clipIDs]).poolerOutput } catch { throw .encoder(component: "text_encoder", reason: error.description) }
        let t5IDs = tokenizer2.encode(text, maxLength: maxSequenceLength).intIDs
        let embeds: Tensor
        do { embeds = try textEncoder2([t5IDs]).lastHiddenState } catch {
            throw .encoder(component: "text_encoder_2", reason: error.description)
        }
        return [prefix + "prompt_embeds": embeds.contiguous(), prefix + "pooled_prompt_embeds": pooled.contiguous()]
    }
}
