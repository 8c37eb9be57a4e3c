import PruneTensor

/// The shared body of both CLIP text models: embeddings, causal encoder, final layer norm and EOS pooling.
///
/// Keys under `text_model.`: `embeddings.token_embedding.weight` `[V, C]`, `embeddings.position_embedding.weight`
/// `[P, C]`, `encoder.layers.N.*` (``CLIPEncoderLayer``), `final_layer_norm.{weight,bias}` `[C]`.
///
/// This implementation matches: transformers 5.x `modeling_clip.py` `CLIPTextTransformer` with
/// `output_hidden_states=True` and no `attention_mask` (the SDXL and FLUX pipelines pass none): causal
/// self-attention, positions `0..<L`, pooled output at `argmax(input_ids)` when `eos_token_id == 2` (legacy
/// configs) and at the first `eos_token_id` otherwise (position 0 when a row has none, as `argmax` of all zeros).
/// Deviation: no padding-mask input and no custom `position_ids`.
struct CLIPTextTransformer {
    let configuration: CLIPTextConfiguration
    let tokenEmbedding: Embedding
    let positionEmbedding: Embedding
    let layers: [CLIPEncoderLayer]
    let finalLayerNorm: StoredLayerNorm

    /// The keys transformers drops without complaint (the non-persistent `position_ids` buffer older files hold).
    static func isIgnored(_ key: String) -> Bool {
        key == "text_model.embeddings.position_ids" || key == "embeddings.position_ids"
    }

    init(_ scope: ParameterScope, configuration c: CLIPTextConfiguration) {
        configuration = c
        let embeddings = scope.scoped("embeddings")
        tokenEmbedding = Embedding(embeddings.scoped("token_embedding"), count: c.vocabularySize, width: c.hiddenSize)
        positionEmbedding = Embedding(
            embeddings.scoped("position_embedding"), count: c.maximumPositions, width: c.hiddenSize)
        let layerScope = scope.scoped("encoder.layers")
        layers = (0..<c.layerCount).map { CLIPEncoderLayer(layerScope.scoped($0), configuration: c) }
        finalLayerNorm = StoredLayerNorm(scope.scoped("final_layer_norm"), dimension: c.hiddenSize, epsilon: c.layerNormEpsilon)
    }

    /// Runs the encoder on validated ids `[B][L]`.
    /// - Returns: the hidden states (embeddings + each layer), the final-LN state and the pooled rows.
    func run(_ ids: [[Int]]) -> (hiddenStates: [Tensor], last: Tensor, pooled: Tensor) {
        withoutGradients {
            let length = ids[0].count
            var hidden = tokenEmbedding(ids) + positionEmbedding.leading(length)
            var states = [hidden]
            let mask = BiasedAttention.causalMask(length: length)
            for layer in layers {
                hidden = layer(hidden, mask: mask)
                states.append(hidden)
            }
            let last = finalLayerNorm(hidden)
            let rows = ids.enumerated().map { row, tokens in row * length + Self.poolingPosition(tokens, eosTokenID: configuration.eosTokenID) }
            let pooled = last.reshaped([ids.count * length, configuration.hiddenSize]).indexSelect(axis: 0, indices: rows)
            return (states, last, pooled)
        }
    }

    /// Where transformers takes the pooled output of one row: the first largest id when `eosTokenID == 2`, else the
    /// first position holding `eosTokenID` (0 when none does).
    static func poolingPosition(_ tokens: [Int], eosTokenID: Int) -> Int {
        if eosTokenID == 2 {
            var best = 0
            for (position, id) in tokens.enumerated() where id > tokens[best] { best = position }
            return best
        }
        return tokens.firstIndex(of: eosTokenID) ?? 0
    }
}
