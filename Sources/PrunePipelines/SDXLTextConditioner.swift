import Foundation
import PruneTensor
import PruneTextEncoders
import PruneTokenizers

/// The conditioning of SDXL's two text encoders: what `StableDiffusionXLPipeline.encode_prompt` returns.
///
/// For each of (tokenizer, CLIP ViT-L `CLIPTextModel`) and (tokenizer_2, OpenCLIP bigG
/// `CLIPTextModelWithProjection`): the prompt is padded and truncated to the tokenizer's `model_max_length`
/// (77), encoded with all hidden states, and the penultimate layer (`hidden_states[-2]`, before the final
/// layer norm; `clip_skip` k takes `hidden_states[-(k + 2)]`) is kept; the two are concatenated along the
/// channels: `prompt_embeds [1, 77, 768 + 1280]`. `pooled_prompt_embeds [1, 1280]` is encoder 2's projected
/// `text_embeds`. The negative side: with no negative prompt and `force_zeros_for_empty_prompt` (SDXL base's
/// `model_index.json` says true) both negatives are zeros; otherwise the negative prompt (or "") is encoded the
/// same way (always the penultimate layer, as diffusers ignores `clip_skip` there).
///
/// This implementation matches: diffusers 0.42 `StableDiffusionXLPipeline.encode_prompt` with
/// `num_images_per_prompt = 1`, `prompt_2 = prompt`, `do_classifier_free_guidance` as given. A pipeline
/// without the first encoder (the refiner) uses encoder 2 alone, as diffusers does. Deviations: none known;
/// textual inversion and LoRA text-encoder scaling are not supported.
public struct SDXLTextConditioner: @unchecked Sendable {
    public var tokenizer: CLIPTokenizer?
    public var textEncoder: CLIPTextModel?
    public var tokenizer2: CLIPTokenizer
    public var textEncoder2: CLIPTextModelWithProjection
    /// `model_index.json`'s `force_zeros_for_empty_prompt` (true for SDXL base and most fine-tunes).
    public var forceZerosForEmptyPrompt: Bool

    public init(
        tokenizer: CLIPTokenizer?, textEncoder: CLIPTextModel?, tokenizer2: CLIPTokenizer, textEncoder2: CLIPTextModelWithProjection,
        forceZerosForEmptyPrompt: Bool = true
    ) {
        self.tokenizer = tokenizer
        self.textEncoder = textEncoder
        self.tokenizer2 = tokenizer2
        self.textEncoder2 = textEncoder2
        self.forceZerosForEmptyPrompt = forceZerosForEmptyPrompt
    }

    /// The tensors under diffusers' names: `prompt_embeds [1, 77, C]`, `pooled_prompt_embeds [1, P]`, and with
    /// guidance `negative_prompt_embeds`, `negative_pooled_prompt_embeds` of the same shapes.
    /// - Throws: ``PipelineError/encoder(component:reason:)`` when an encoder rejects the ids (a vocabulary that
    ///   does not fit the encoder, say).
    public func encode(
        prompt: String, negativePrompt: String? = nil, clipSkip: Int? = nil, classifierFreeGuidance: Bool = true
    ) throws(PipelineError) -> [String: Tensor] {
        let positive = try embeddings(prompt, hiddenStateFromEnd: 2 + (clipSkip ?? 0))
        var tensors = ["prompt_embeds": positive.embeds, "pooled_prompt_embeds": positive.pooled]
        guard classifierFreeGuidance else { return tensors }
        if negativePrompt == nil, forceZerosForEmptyPrompt {
            tensors["negative_prompt_embeds"] = Tensor.zeros(positive.embeds.shape)
            tensors["negative_pooled_prompt_embeds"] = Tensor.zeros(positive.pooled.shape)
        } else {
            let negative = try embeddings(negativePrompt ?? "", hiddenStateFromEnd: 2)
            tensors["negative_prompt_embeds"] = negative.embeds
            tensors["negative_pooled_prompt_embeds"] = negative.pooled
        }
        return tensors
    }

    /// One prompt through both encoders: the chosen hidden state of each, concatenated, and encoder 2's pooled output.
    private func embeddings(_ text: String, hiddenStateFromEnd: Int) throws(PipelineError) -> (embeds: Tensor, pooled: Tensor) {
        var parts: [Tensor] = []
        if let tokenizer, let textEncoder {
            let ids = tokenizer.encode(text, maxLength: tokenizer.modelMaxLength).intIDs
            let output: CLIPTextOutput
            do { output = try textEncoder([ids]) } catch { throw .encoder(component: "text_encoder", reason: error.description) }
            parts.append(try Self.hiddenState(output, fromEnd: hiddenStateFromEnd, component: "text_encoder"))
        }
        let ids = tokenizer2.encode(text, maxLength: tokenizer2.modelMaxLength).intIDs
        let output: CLIPTextOutput
        do { output = try textEncoder2([ids]) } catch { throw .encoder(component: "text_encoder_2", reason: error.description) }
        parts.append(try Self.hiddenState(output, fromEnd: hiddenStateFromEnd, component: "text_encoder_2"))
        guard let pooled = output.textEmbeds else {
            throw .encoder(component: "text_encoder_2", reason: "has no text projection (expected CLIPTextModelWithProjection)")
        }
        let embeds = parts.count == 1 ? parts[0] : concatenate(parts, axis: 2)
        return (embeds.contiguous(), pooled.contiguous())
    }

    private static func hiddenState(_ output: CLIPTextOutput, fromEnd offset: Int, component: String) throws(PipelineError) -> Tensor {
        let index = output.hiddenStates.count - offset
        guard index >= 0, index < output.hiddenStates.count else {
            throw .badSetting("clip_skip \(offset - 2) reaches past \(component)'s \(output.hiddenStates.count - 1) layers")
        }
        return output.hiddenStates[index]
    }
}
