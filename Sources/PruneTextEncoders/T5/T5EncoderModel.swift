import PruneNN
import PruneTensor

/// What ``T5EncoderModel`` returns (`float32`).
public struct T5EncoderOutput: @unchecked Sendable {
    /// The final-layer-norm output, `[B, L, d_model]` (FLUX's `prompt_embeds`).
    public let lastHiddenState: Tensor
}

/// transformers' `T5EncoderModel` (T5 v1.1 / FLAN-T5 encoders; FLUX's `text_encoder_2/` is T5-XXL), inference only.
///
/// Keys: the token embedding as `shared.weight` or `encoder.embed_tokens.weight` `[V, C]` (tied; either or both
/// may be stored), `encoder.block.N.*` (``T5Block``; `relative_attention_bias` in block 0 only),
/// `encoder.final_layer_norm.weight` `[C]`. Decoder keys of a full T5 checkpoint are ignored, as transformers does.
/// Weights stay in their stored element type (bfloat16 for FLUX) and are widened per operation (``Widening``).
///
/// ```swift
/// let t5 = try T5EncoderModel(directory: "flux/text_encoder_2")
/// let embeds = try t5(ids).lastHiddenState          // [1, 512, 4096]
/// ```
///
/// This implementation matches: transformers 5.x `modeling_t5.py` `T5EncoderModel`: embeddings (no scaling),
/// blocks sharing block 0's relative position bias, `final_layer_norm`; no attention mask by default (FLUX attends to
/// padding); with `attentionMask`, `(1 − mask) · finfo(float32).min` is added to the bias for masked keys.
/// Deviations: no dropout (inference), no float16 activation clamping (compute is float32).
public struct T5EncoderModel: @unchecked Sendable {
    /// The configuration the model was built from.
    public let configuration: T5Configuration
    let embedding: Embedding
    let blocks: [T5Block]
    let finalLayerNorm: T5LayerNorm
    /// The resident parameters, by checkpoint key.
    public let parameters: StoredParameters

    /// The token-embedding keys transformers ties, in the order they are looked for.
    static let embeddingKeys = ["shared.weight", "encoder.embed_tokens.weight"]

    /// Keys transformers' `T5EncoderModel` drops without complaint (a full encoder-decoder checkpoint's decoder).
    static func isIgnored(_ key: String) -> Bool { key.hasPrefix("decoder.") }

    /// Builds the model from `source`, keyed by transformers names.
    /// - Throws: ``TextEncoderError/weights(_:)`` listing every missing, mis-shaped, unreadable and unexpected key.
    public init(configuration: T5Configuration, source: any TensorSource, sourceName: String = "weights")
        throws(TextEncoderError)
    {
        let parameters = StoredParameters(source: source, sourceName: sourceName)
        self.init(configuration: configuration, parameters: parameters)
        do { try parameters.finish(ignoring: Self.isIgnored) } catch { throw .weights(error) }
    }

    /// Loads a transformers folder: `config.json` plus `model.safetensors`, its shards (FLUX's T5 is sharded), or the
    /// `variant` files (see ``TextEncoderCheckpoint``).
    /// - Throws: ``TextEncoderError``: `.configuration` naming a missing or bad key, `.noWeights`, `.weightFile`,
    ///   `.weights`.
    public init(directory: String, variant: String? = nil) throws(TextEncoderError) {
        let configuration: T5Configuration
        do { configuration = try T5Configuration.load(path: directory + "/config.json") } catch {
            throw .configuration(error)
        }
        let source = try TextEncoderCheckpoint.source(directory: directory, variant: variant)
        try self.init(configuration: configuration, source: source, sourceName: source.name)
    }

    init(configuration c: T5Configuration, parameters: StoredParameters) {
        configuration = c
        self.parameters = parameters
        let shape = [c.vocabularySize, c.modelDimension]
        let stored = Self.embeddingKeys.first(where: parameters.sourceContains) ?? Self.embeddingKeys[0]
        embedding = Embedding(weight: parameters.parameter(stored, shape: shape))
        for other in Self.embeddingKeys where other != stored && parameters.sourceContains(other) {
            // The tied copy: accepted when its shape agrees (transformers keeps one of the two).
            parameters.markConsumed(other)
            _ = parameters.checkShape(other, expected: shape)
        }
        let root = parameters.root.scoped("encoder")
        blocks = (0..<c.layerCount).map { T5Block(root.scoped("block").scoped($0), configuration: c, hasRelativeBias: $0 == 0) }
        finalLayerNorm = T5LayerNorm(root.scoped("final_layer_norm"), dimension: c.modelDimension, epsilon: c.layerNormEpsilon)
    }

    /// Every parameter's key and shape for `configuration`, without weights (the embedding as `shared.weight`).
    public static func parameterShapes(_ configuration: T5Configuration) -> [String: [Int]] {
        T5EncoderModel(configuration: configuration, parameters: StoredParameters(recordingShapes: ())).parameters.shapes
    }

    /// Encodes a batch of token-id rows of one length.
    /// - Parameters:
    ///   - tokenIDs: `[B][L]` ids in `0..<vocab_size`.
    ///   - attentionMask: `[B][L]` of 1 (attend) and 0 (padding key), or `nil` to attend to every token.
    /// - Returns: `lastHiddenState` `[B, L, d_model]`.
    /// - Throws: ``TextEncoderError`` for an empty or ragged batch, an id outside the vocabulary, or a mask of another
    ///   shape or with values other than 0 and 1.
    public func callAsFunction(_ tokenIDs: [[Int]], attentionMask: [[Int]]? = nil) throws(TextEncoderError) -> T5EncoderOutput {
        let (rows, length) = try TokenBatch.validate(tokenIDs, vocabularySize: configuration.vocabularySize)
        if let attentionMask {
            guard attentionMask.count == rows, attentionMask.allSatisfy({ $0.count == length }) else {
                throw .badAttentionMask(reason: "expected \(rows) rows of \(length) values, like the token ids")
            }
            guard attentionMask.allSatisfy({ $0.allSatisfy { $0 == 0 || $0 == 1 } }) else {
                throw .badAttentionMask(reason: "values must be 0 or 1")
            }
        }
        return withoutGradients {
            var bias: Tensor
            if let table = blocks.first?.attention.relativeAttentionBias {
                bias = T5RelativePosition.bias(
                    table: table, length: length, buckets: configuration.relativeAttentionBuckets,
                    maximumDistance: configuration.relativeAttentionMaximumDistance)
            } else {
                bias = Tensor.zeros([1, configuration.headCount, length, length])
            }
            if let attentionMask { bias = bias + BiasedAttention.paddingMask(attentionMask) }
            var hidden = embedding(tokenIDs)
            for block in blocks { hidden = block(hidden, bias: bias) }
            return T5EncoderOutput(lastHiddenState: finalLayerNorm(hidden))
        }
    }
}
