import PruneNN
import PruneTensor

/// transformers' `CLIPTextModelWithProjection`: a CLIP text tower plus `text_projection` (no bias), as SDXL's
/// `text_encoder_2/` (OpenCLIP ViT-bigG/14) ships it; inference only.
///
/// Keys: those of ``CLIPTextModel`` and `text_projection.weight` `[projection_dim, hidden_size]`. SDXL's pooled
/// conditioning is ``CLIPTextOutput/textEmbeds``.
///
/// This implementation matches: transformers 5.x `modeling_clip.py` `CLIPTextModelWithProjection`
/// (`text_embeds = text_projection(pooler_output)`); see ``CLIPTextTransformer`` for the body.
public struct CLIPTextModelWithProjection: @unchecked Sendable {
    /// The configuration the model was built from.
    public let configuration: CLIPTextConfiguration
    let transformer: CLIPTextTransformer
    let projection: StoredLinear
    /// The resident parameters, by checkpoint key.
    public let parameters: StoredParameters

    /// Builds the model from `source`, keyed by transformers names (`text_model.…`, `text_projection.weight`).
    /// - Throws: ``TextEncoderError/weights(_:)`` listing every missing, mis-shaped, unreadable and unexpected key.
    public init(configuration: CLIPTextConfiguration, source: any TensorSource, sourceName: String = "weights")
        throws(TextEncoderError)
    {
        let parameters = StoredParameters(source: source, sourceName: sourceName)
        self.init(configuration: configuration, parameters: parameters)
        do { try parameters.finish(ignoring: CLIPTextTransformer.isIgnored) } catch { throw .weights(error) }
    }

    /// Loads a transformers folder: `config.json` plus `model.safetensors`, its shards, or the `variant` files.
    /// - Throws: ``TextEncoderError``, as ``CLIPTextModel/init(directory:variant:)``.
    public init(directory: String, variant: String? = nil) throws(TextEncoderError) {
        let configuration: CLIPTextConfiguration
        do { configuration = try CLIPTextConfiguration.load(path: directory + "/config.json") } catch {
            throw .configuration(error)
        }
        let source = try TextEncoderCheckpoint.source(directory: directory, variant: variant)
        try self.init(configuration: configuration, source: source, sourceName: source.name)
    }

    init(configuration: CLIPTextConfiguration, parameters: StoredParameters) {
        self.configuration = configuration
        self.parameters = parameters
        transformer = CLIPTextTransformer(parameters.root.scoped("text_model"), configuration: configuration)
        projection = StoredLinear(
            parameters.root.scoped("text_projection"), inFeatures: configuration.hiddenSize,
            outFeatures: configuration.projectionDimension, bias: false)
    }

    /// Every parameter's key and shape for `configuration`, without weights.
    public static func parameterShapes(_ configuration: CLIPTextConfiguration) -> [String: [Int]] {
        CLIPTextModelWithProjection(configuration: configuration, parameters: StoredParameters(recordingShapes: ()))
            .parameters.shapes
    }

    /// Encodes a batch of token-id rows of one length `L` ≤ `max_position_embeddings`.
    /// - Returns: as ``CLIPTextModel/callAsFunction(_:)`` plus `textEmbeds` `[B, projection_dim]`.
    /// - Throws: ``TextEncoderError`` for an empty or ragged batch, too many tokens, or an id outside the vocabulary.
    public func callAsFunction(_ tokenIDs: [[Int]]) throws(TextEncoderError) -> CLIPTextOutput {
        _ = try TokenBatch.validate(
            tokenIDs, vocabularySize: configuration.vocabularySize, maximumLength: configuration.maximumPositions)
        let result = transformer.run(tokenIDs)
        let embeds = withoutGradients { projection(result.pooled) }
        return CLIPTextOutput(
            hiddenStates: result.hiddenStates, lastHiddenState: result.last, poolerOutput: result.pooled, textEmbeds: embeds)
    }
}
