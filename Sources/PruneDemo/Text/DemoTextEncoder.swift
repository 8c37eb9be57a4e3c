import Foundation
import PruneNN
import PruneTensor

/// Hyper-parameters of ``DemoTextEncoder`` (`text_encoder_config.json` next to a demo model).
public struct DemoTextEncoderConfiguration: Codable, Sendable, Equatable {
    /// Token ids, the pad token included.
    public var vocabularySize: Int
    /// Tokens per prompt.
    public var length: Int
    /// Embedding width (the denoisers' `cross_attention_dim` / `joint_attention_dim` and pooled width).
    public var width: Int
    /// Attention heads of the transformer layer.
    public var heads: Int

    public init(vocabularySize: Int, length: Int, width: Int = 64, heads: Int = 4) {
        self.vocabularySize = vocabularySize
        self.length = length
        self.width = width
        self.heads = heads
    }

    /// The encoder for ``PromptTokenizer/shapes``: 22 ids, 8 tokens, width 64, 4 heads.
    public static let shapes = DemoTextEncoderConfiguration(
        vocabularySize: PromptTokenizer.shapes.vocabularySize, length: PromptTokenizer.shapes.length)

    enum CodingKeys: String, CodingKey {
        case vocabularySize = "vocab_size", length = "max_position_embeddings", width = "hidden_size"
        case heads = "num_attention_heads"
    }

    /// Throws when the values cannot build an encoder.
    public func validate() throws(DemoModelError) {
        guard vocabularySize > 0, length > 0, width > 0, heads > 0, width % heads == 0 else {
            throw .invalidConfiguration(
                "text encoder: vocab_size, max_position_embeddings, hidden_size, num_attention_heads must be positive and heads must divide the width")
        }
    }
}

/// The demo models' text encoder: token + learned position embeddings, one pre-LN transformer layer
/// (self-attention, GELU MLP of 4× width), and a final LayerNorm. It produces per-token embeddings
/// `[B, L, W]` (what the denoisers cross-attend to) and their mean `[B, W]` (the pooled vector).
///
/// Keys: `embeddings.token_embedding.weight` `[V, W]`, `embeddings.position_embedding.weight` `[L, W]`,
/// `encoder.layer_norm1.*`, `encoder.self_attn.{to_q,to_k,to_v,to_out.0}.*`, `encoder.layer_norm2.*`,
/// `encoder.mlp.{net.0.proj,net.2}.*`, `final_layer_norm.*`. Built on the tape, so it trains jointly with a
/// denoiser.
public struct DemoTextEncoder {
    public let configuration: DemoTextEncoderConfiguration
    let tokenEmbedding: Tensor
    let positionEmbedding: Tensor
    let norm1: LayerNorm
    let attention: Attention
    let norm2: LayerNorm
    let mlp: FeedForward
    let finalNorm: LayerNorm

    /// Builds the layers under `weights` (a ``ParameterStore`` root: random or a checkpoint).
    public init(_ configuration: DemoTextEncoderConfiguration, weights: WeightScope) {
        self.configuration = configuration
        let width = configuration.width
        let embeddings = weights.scoped("embeddings")
        tokenEmbedding = embeddings.scoped("token_embedding").parameter(
            "weight", shape: [configuration.vocabularySize, width], initialization: .normal(standardDeviation: 0.02))
        positionEmbedding = embeddings.scoped("position_embedding").parameter(
            "weight", shape: [configuration.length, width], initialization: .normal(standardDeviation: 0.02))
        let layer = weights.scoped("encoder")
        norm1 = LayerNorm(layer.scoped("layer_norm1"), dimension: width, epsilon: 1e-5)
        attention = Attention(
            layer.scoped("self_attn"), queryDimension: width, heads: configuration.heads,
            headDimension: width / configuration.heads)
        norm2 = LayerNorm(layer.scoped("layer_norm2"), dimension: width, epsilon: 1e-5)
        mlp = FeedForward(layer.scoped("mlp"), dimension: width, innerDimension: 4 * width, activation: .geluTanh)
        finalNorm = LayerNorm(weights.scoped("final_layer_norm"), dimension: width, epsilon: 1e-5)
    }

    /// Encodes token ids.
    ///
    /// - Parameter ids: `B` rows of ``DemoTextEncoderConfiguration/length`` ids each, each in `0..<vocab`.
    /// - Returns: per-token embeddings `[B, L, W]` and pooled `[B, W]` (the mean over the L tokens).
    public func callAsFunction(_ ids: [[Int]]) -> (tokens: Tensor, pooled: Tensor) {
        let (length, vocabulary, width) = (configuration.length, configuration.vocabularySize, configuration.width)
        var oneHot = [Float](repeating: 0, count: ids.count * length * vocabulary)
        for (row, sequence) in ids.enumerated() {
            precondition(sequence.count == length, "token row \(row) has \(sequence.count) ids, expected \(length)")
            for (position, id) in sequence.enumerated() {
                precondition((0..<vocabulary).contains(id), "token id \(id) outside 0..<\(vocabulary)")
                oneHot[(row * length + position) * vocabulary + id] = 1
            }
        }
        let selected = matmul(Tensor(oneHot, shape: [ids.count * length, vocabulary]), tokenEmbedding)
        var hidden = selected.reshaped([ids.count, length, width]) + positionEmbedding
        hidden = hidden + attention(norm1(hidden))
        hidden = hidden + mlp(norm2(hidden))
        let tokens = finalNorm(hidden)
        return (tokens, tokens.mean(axes: [1]))
    }
}
