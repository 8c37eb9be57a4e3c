import PruneTensor

/// What a CLIP text encoder returns for a batch of token ids (all `float32`).
public struct CLIPTextOutput: @unchecked Sendable {
    /// The embeddings output followed by every layer's output, `layerCount + 1` tensors `[B, L, hidden]` — transformers'
    /// `hidden_states` with `output_hidden_states=True`. SDXL conditions on `hiddenStates[hiddenStates.count - 2]`.
    public let hiddenStates: [Tensor]
    /// The last layer's output after `final_layer_norm`, `[B, L, hidden]`.
    public let lastHiddenState: Tensor
    /// ``lastHiddenState`` at each row's end-of-text position, `[B, hidden]` (transformers' `pooler_output`).
    public let poolerOutput: Tensor
    /// ``poolerOutput`` × `text_projection`, `[B, projection]`; only from ``CLIPTextModelWithProjection``.
    public let textEmbeds: Tensor?
}
