import Foundation

/// The activation between a CLIP text MLP's `fc1` and `fc2` (`hidden_act`).
public enum CLIPActivation: String, Sendable, Equatable, CaseIterable {
    /// `x · sigmoid(1.702 x)`: OpenAI CLIP (CLIP-L, SDXL/FLUX `text_encoder`).
    case quickGELU = "quick_gelu"
    /// The exact (erf) GELU: OpenCLIP ViT-bigG (SDXL `text_encoder_2`).
    case gelu
}

/// The hyper-parameters of transformers' `CLIPTextConfig`, read from a `config.json` of a `CLIPTextModel` or
/// `CLIPTextModelWithProjection` (`model_type` `clip_text_model`).
///
/// Required keys (their absence throws ``TextEncoderConfigurationError/missingKey(key:path:)``):
/// `vocab_size`, `hidden_size`, `intermediate_size`, `num_hidden_layers`, `num_attention_heads`,
/// `max_position_embeddings`. Keys with transformers' defaults when absent: `hidden_act` (`quick_gelu`),
/// `layer_norm_eps` (1e-5), `projection_dim` (512), `eos_token_id` (49407). Other keys are ignored.
public struct CLIPTextConfiguration: Sendable, Equatable {
    /// `vocab_size`: rows of the token embedding.
    public var vocabularySize: Int
    /// `hidden_size`: the model width.
    public var hiddenSize: Int
    /// `intermediate_size`: the MLP width.
    public var intermediateSize: Int
    /// `num_hidden_layers`: encoder layers.
    public var layerCount: Int
    /// `num_attention_heads`; `hiddenSize` must be a multiple of it.
    public var headCount: Int
    /// `max_position_embeddings`: rows of the position embedding, the longest token sequence (77).
    public var maximumPositions: Int
    /// `hidden_act`.
    public var activation: CLIPActivation
    /// `layer_norm_eps`.
    public var layerNormEpsilon: Float
    /// `projection_dim`: the width of `text_projection` (used by ``CLIPTextModelWithProjection`` only).
    public var projectionDimension: Int
    /// `eos_token_id`: where the pooled output is taken (2 selects transformers' legacy argmax rule).
    public var eosTokenID: Int

    public init(
        vocabularySize: Int = 49408, hiddenSize: Int, intermediateSize: Int, layerCount: Int, headCount: Int,
        maximumPositions: Int = 77, activation: CLIPActivation = .quickGELU, layerNormEpsilon: Float = 1e-5,
        projectionDimension: Int = 512, eosTokenID: Int = 49407
    ) {
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.maximumPositions = maximumPositions
        self.activation = activation
        self.layerNormEpsilon = layerNormEpsilon
        self.projectionDimension = projectionDimension
        self.eosTokenID = eosTokenID
    }

    /// OpenAI CLIP ViT-L/14's text tower as SDXL's `text_encoder/config.json` and FLUX's `text_encoder/config.json`
    /// describe it: 12 layers of width 768 (MLP 3072), 12 heads, quick GELU, projection 768, legacy `eos_token_id` 2.
    public static let clipL = CLIPTextConfiguration(
        hiddenSize: 768, intermediateSize: 3072, layerCount: 12, headCount: 12, activation: .quickGELU,
        projectionDimension: 768, eosTokenID: 2)

    /// OpenCLIP ViT-bigG/14's text tower as SDXL's `text_encoder_2/config.json` describes it: 32 layers of width
    /// 1280 (MLP 5120), 20 heads, exact GELU, projection 1280, legacy `eos_token_id` 2.
    public static let openCLIPBigG = CLIPTextConfiguration(
        hiddenSize: 1280, intermediateSize: 5120, layerCount: 32, headCount: 20, activation: .gelu,
        projectionDimension: 1280, eosTokenID: 2)

    /// `hiddenSize / headCount`.
    public var headDimension: Int { hiddenSize / headCount }

    /// Reads and validates the `config.json` at `path`.
    /// - Throws: ``TextEncoderConfigurationError`` naming the key (and `path`) of a missing, mistyped or
    ///   unsupported value, or `.unreadable` when the file is not a JSON object.
    public static func load(path: String) throws(TextEncoderConfigurationError) -> CLIPTextConfiguration {
        try CLIPTextConfiguration(reading: ConfigurationReader.load(path: path))
    }

    /// Decodes and validates `config.json` bytes; `path` names them in errors.
    /// - Throws: ``TextEncoderConfigurationError``, as ``load(path:)``.
    public static func decode(_ data: Data, path: String = "config.json") throws(TextEncoderConfigurationError)
        -> CLIPTextConfiguration
    {
        try CLIPTextConfiguration(reading: ConfigurationReader(data: data, path: path))
    }

    init(reading config: ConfigurationReader) throws(TextEncoderConfigurationError) {
        if let type = try config.optionalString("model_type"), type != "clip_text_model" {
            throw config.unsupported("model_type", type, "expected clip_text_model (a CLIPTextModel or CLIPTextModelWithProjection config)")
        }
        vocabularySize = try config.integer("vocab_size")
        hiddenSize = try config.integer("hidden_size")
        intermediateSize = try config.integer("intermediate_size")
        layerCount = try config.integer("num_hidden_layers")
        headCount = try config.integer("num_attention_heads")
        maximumPositions = try config.integer("max_position_embeddings")
        let act = try config.string("hidden_act", default: CLIPActivation.quickGELU.rawValue)
        guard let activation = CLIPActivation(rawValue: act) else {
            throw config.unsupported("hidden_act", act, "expected quick_gelu or gelu")
        }
        self.activation = activation
        layerNormEpsilon = Float(try config.number("layer_norm_eps", default: 1e-5))
        projectionDimension = try config.integer("projection_dim", default: 512)
        eosTokenID = try config.integer("eos_token_id", default: 49407)
        try validate(path: config.path)
    }

    /// Throws for the first value this implementation cannot run.
    /// - Throws: ``TextEncoderConfigurationError/unsupportedValue(key:value:reason:path:)`` naming the key.
    public func validate(path: String = "configuration") throws(TextEncoderConfigurationError) {
        func unsupported(_ key: String, _ value: Any, _ reason: String) -> TextEncoderConfigurationError {
            .unsupportedValue(key: key, value: "\(value)", reason: reason, path: path)
        }
        let positive = [
            ("vocab_size", vocabularySize), ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
            ("num_attention_heads", headCount), ("max_position_embeddings", maximumPositions),
            ("projection_dim", projectionDimension),
        ]
        for (key, value) in positive where value <= 0 { throw unsupported(key, value, "must be positive") }
        guard layerCount >= 0 else { throw unsupported("num_hidden_layers", layerCount, "must not be negative") }
        guard hiddenSize % headCount == 0 else {
            throw unsupported("num_attention_heads", headCount, "must divide hidden_size (\(hiddenSize))")
        }
        guard layerNormEpsilon.isFinite, layerNormEpsilon > 0 else {
            throw unsupported("layer_norm_eps", layerNormEpsilon, "must be a positive finite number")
        }
        guard eosTokenID >= 0 else { throw unsupported("eos_token_id", eosTokenID, "must not be negative") }
    }
}
