import PruneNN
import PruneTensor

/// transformers' `CLIPTextModel`: the text tower of CLIP ViT-L/14 (SDXL's and FLUX's `text_encoder/`), inference only.
///
/// Weights stay in their stored element type (float16 in `*.fp16.safetensors`, bfloat16 in FLUX's folders,
/// float32) and are widened one layer operation at a time (see ``Widening``).
///
/// ```swift
/// let encoder = try CLIPTextModel(directory: "sdxl/text_encoder")
/// let output = try encoder([[49406, 320, 1125, 49407] + Array(repeating: 49407, count: 73)])
/// let penultimate = output.hiddenStates[output.hiddenStates.count - 2]   // [1, 77, 768]
/// ```
///
/// This implementation matches: transformers 5.x `modeling_clip.py` `CLIPTextModel` (see ``CLIPTextTransformer``
/// for the exact rules and deviations).
public struct CLIPTextModel: @unchecked Sendable {
    /// The configuration the model was built from.
    public let configuration: CLIPTextConfiguration
    let transformer: CLIPTextTransformer
    /// The resident parameters, by checkpoint key.
    public let parameters: StoredParameters

    /// Builds the model from `source`, keyed by transformers names: `text_model.…` as every published checkpoint
    /// stores them, or without the `text_model.` prefix as transformers 5 saves a `CLIPTextModel` (it strips the
    /// prefix on load; so does this initialiser when the source has no `text_model.` token embedding but an
    /// unprefixed one).
    /// - Throws: ``TextEncoderError/weights(_:)`` listing every missing, mis-shaped, unreadable and unexpected key
    ///   (`text_model.embeddings.position_ids` is accepted and ignored, as transformers does).
    public init(configuration: CLIPTextConfiguration, source: any TensorSource, sourceName: String = "weights")
        throws(TextEncoderError)
    {
        let parameters = StoredParameters(source: source, sourceName: sourceName)
        self.init(configuration: configuration, parameters: parameters)
        do { try parameters.finish(ignoring: CLIPTextTransformer.isIgnored) } catch { throw .weights(error) }
    }

    /// Loads a transformers folder: `config.json` plus `model.safetensors`, its shards, or the `variant` files
    /// (see ``TextEncoderCheckpoint``).
    /// - Throws: ``TextEncoderError``: `.configuration` naming a missing or bad key, `.noWeights`, `.weightFile`,
    ///   `.weights`.
    public init(directory: String, variant: String? = nil) throws(TextEncoderError) {
        let configuration: CLIPTextConfiguration
        do { configuration = try CLIPTextConfiguration.load(path: directory + "/config.json") } catch {
            throw .configuration(error)
        }
        let source = try TextEncoderCheckpoint.source(directory: directory, variant: variant)
        try self.init(configuration: configuration, source: source, sourceName: source.name)
    }

    /// Builds the model over `parameters` without checking them (used for shape listings).
    init(configuration: CLIPTextConfiguration, parameters: StoredParameters) {
        self.configuration = configuration
        self.parameters = parameters
        let prefixed = "text_model.embeddings.token_embedding.weight"
        let unprefixed = "embeddings.token_embedding.weight"
        let scope =
            !parameters.sourceContains(prefixed) && parameters.sourceContains(unprefixed)
            ? parameters.root : parameters.root.scoped("text_model")
        transformer = CLIPTextTransformer(scope, configuration: configuration)
    }

    /// Every parameter's key and shape for `configuration`, without weights (e.g. to write a checkpoint).
    public static func parameterShapes(_ configuration: CLIPTextConfiguration) -> [String: [Int]] {
        CLIPTextModel(configuration: configuration, parameters: StoredParameters(recordingShapes: ())).parameters.shapes
    }

    /// Encodes a batch of token-id rows of one length `L` ≤ `max_position_embeddings`.
    /// - Returns: hidden states `[B, L, C]` × (layers + 1), `lastHiddenState` `[B, L, C]`, `poolerOutput` `[B, C]`;
    ///   `textEmbeds` is `nil`.
    /// - Throws: ``TextEncoderError`` for an empty or ragged batch, too many tokens, or an id outside the vocabulary.
    public func callAsFunction(_ tokenIDs: [[Int]]) throws(TextEncoderError) -> CLIPTextOutput {
        _ = try TokenBatch.validate(
            tokenIDs, vocabularySize: configuration.vocabularySize, maximumLength: configuration.maximumPositions)
        let result = transformer.run(tokenIDs)
        return CLIPTextOutput(
            hiddenStates: result.hiddenStates, lastHiddenState: result.last, poolerOutput: result.pooled, textEmbeds: nil)
    }
}
