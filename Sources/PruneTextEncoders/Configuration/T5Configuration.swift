import Foundation

/// The feed-forward block of a T5 layer, from `feed_forward_proj`.
public struct T5FeedForwardKind: Sendable, Equatable {
    /// The activation applied to `wi` (or `wi_0` when gated).
    public enum Activation: String, Sendable, Equatable {
        case relu
        /// Exact (erf) GELU: transformers' `gelu`.
        case gelu
        /// Tanh-approximated GELU: transformers' `gelu_new`, which `gated-gelu` selects.
        case geluTanh = "gelu_new"
        case silu
    }

    /// The activation.
    public var activation: Activation
    /// `true` for `gated-*`: `wo(act(wi_0 x) · wi_1 x)` (T5 v1.1, FLAN-T5); `false`: `wo(act(wi x))` (original T5).
    public var isGated: Bool

    public init(activation: Activation, isGated: Bool) {
        self.activation = activation
        self.isGated = isGated
    }

    /// T5 v1.1's `gated-gelu`.
    public static let gatedGELU = T5FeedForwardKind(activation: .geluTanh, isGated: true)
    /// The original T5's `relu`.
    public static let relu = T5FeedForwardKind(activation: .relu, isGated: false)

    /// Parses `feed_forward_proj` as transformers' `T5Config` does: `ACT` or `gated-ACT`, where `gated-gelu`
    /// means the tanh approximation (`gelu_new`). `nil` for forms transformers rejects or this package lacks.
    public init?(feedForwardProjection value: String) {
        let parts = value.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        let gated = parts.count == 2 && parts[0] == "gated"
        guard parts.count == 1 || gated, let name = parts.last else { return nil }
        let resolved = gated && name == "gelu" ? Activation.geluTanh.rawValue : name
        guard let activation = Activation(rawValue: resolved) else { return nil }
        self.init(activation: activation, isGated: gated)
    }
}

/// The hyper-parameters of transformers' `T5Config` that a `T5EncoderModel` needs, read from a `config.json`
/// (`model_type` `t5`).
///
/// Required keys (their absence throws ``TextEncoderConfigurationError/missingKey(key:path:)``): `vocab_size`,
/// `d_model`, `d_kv`, `d_ff`, `num_layers`, `num_heads`. Keys with transformers' defaults when absent:
/// `relative_attention_num_buckets` (32), `relative_attention_max_distance` (128), `feed_forward_proj`
/// (`relu`), `layer_norm_epsilon` (1e-6). Other keys (decoder sizes, dropout, …) are ignored.
public struct T5Configuration: Sendable, Equatable {
    /// `vocab_size`: rows of the shared token embedding.
    public var vocabularySize: Int
    /// `d_model`: the model width.
    public var modelDimension: Int
    /// `d_kv`: the width of one attention head (`num_heads · d_kv` need not equal `d_model`).
    public var headDimension: Int
    /// `d_ff`: the feed-forward width.
    public var feedForwardDimension: Int
    /// `num_layers`: encoder blocks.
    public var layerCount: Int
    /// `num_heads`.
    public var headCount: Int
    /// `relative_attention_num_buckets`.
    public var relativeAttentionBuckets: Int
    /// `relative_attention_max_distance`.
    public var relativeAttentionMaximumDistance: Int
    /// `feed_forward_proj`.
    public var feedForward: T5FeedForwardKind
    /// `layer_norm_epsilon`.
    public var layerNormEpsilon: Float

    public init(
        vocabularySize: Int = 32128, modelDimension: Int, headDimension: Int, feedForwardDimension: Int, layerCount: Int,
        headCount: Int, relativeAttentionBuckets: Int = 32, relativeAttentionMaximumDistance: Int = 128,
        feedForward: T5FeedForwardKind = .gatedGELU, layerNormEpsilon: Float = 1e-6
    ) {
        self.vocabularySize = vocabularySize
        self.modelDimension = modelDimension
        self.headDimension = headDimension
        self.feedForwardDimension = feedForwardDimension
        self.layerCount = layerCount
        self.headCount = headCount
        self.relativeAttentionBuckets = relativeAttentionBuckets
        self.relativeAttentionMaximumDistance = relativeAttentionMaximumDistance
        self.feedForward = feedForward
        self.layerNormEpsilon = layerNormEpsilon
    }

    /// T5 v1.1 XXL's encoder as FLUX's `text_encoder_2/config.json` describes it: width 4096, 24 blocks, 64 heads
    /// of 64, gated-GELU FFN 10240, vocabulary 32128.
    public static let t5XXL = T5Configuration(
        modelDimension: 4096, headDimension: 64, feedForwardDimension: 10240, layerCount: 24, headCount: 64)

    /// `num_heads · d_kv`: the width of the attention projections.
    public var innerDimension: Int { headCount * headDimension }

    /// Reads and validates the `config.json` at `path`.
    /// - Throws: ``TextEncoderConfigurationError`` naming the key (and `path`) of a missing, mistyped or
    ///   unsupported value, or `.unreadable` when the file is not a JSON object.
    public static func load(path: String) throws(TextEncoderConfigurationError) -> T5Configuration {
        try T5Configuration(reading: ConfigurationReader.load(path: path))
    }

    /// Decodes and validates `config.json` bytes; `path` names them in errors.
    /// - Throws: ``TextEncoderConfigurationError``, as ``load(path:)``.
    public static func decode(_ data: Data, path: String = "config.json") throws(TextEncoderConfigurationError)
        -> T5Configuration
    {
        try T5Configuration(reading: ConfigurationReader(data: data, path: path))
    }

    init(reading config: ConfigurationReader) throws(TextEncoderConfigurationError) {
        if let type = try config.optionalString("model_type"), type != "t5" {
            throw config.unsupported("model_type", type, "expected t5")
        }
        vocabularySize = try config.integer("vocab_size")
        modelDimension = try config.integer("d_model")
        headDimension = try config.integer("d_kv")
        feedForwardDimension = try config.integer("d_ff")
        layerCount = try config.integer("num_layers")
        headCount = try config.integer("num_heads")
        relativeAttentionBuckets = try config.integer("relative_attention_num_buckets", default: 32)
        relativeAttentionMaximumDistance = try config.integer("relative_attention_max_distance", default: 128)
        let projection = try config.string("feed_forward_proj", default: "relu")
        guard let feedForward = T5FeedForwardKind(feedForwardProjection: projection) else {
            throw config.unsupported(
                "feed_forward_proj", projection, "expected ACT or gated-ACT with ACT one of relu, gelu, gelu_new, silu")
        }
        self.feedForward = feedForward
        layerNormEpsilon = Float(try config.number("layer_norm_epsilon", default: 1e-6))
        try validate(path: config.path)
    }

    /// Throws for the first value this implementation cannot run.
    /// - Throws: ``TextEncoderConfigurationError/unsupportedValue(key:value:reason:path:)`` naming the key.
    public func validate(path: String = "configuration") throws(TextEncoderConfigurationError) {
        func unsupported(_ key: String, _ value: Any, _ reason: String) -> TextEncoderConfigurationError {
            .unsupportedValue(key: key, value: "\(value)", reason: reason, path: path)
        }
        let positive = [
            ("vocab_size", vocabularySize), ("d_model", modelDimension), ("d_kv", headDimension),
            ("d_ff", feedForwardDimension), ("num_heads", headCount),
        ]
        for (key, value) in positive where value <= 0 { throw unsupported(key, value, "must be positive") }
        guard layerCount >= 0 else { throw unsupported("num_layers", layerCount, "must not be negative") }
        // Bidirectional buckets: half per direction, half of those exact, so at least 4 for one exact bucket.
        guard relativeAttentionBuckets >= 4, relativeAttentionBuckets % 2 == 0 else {
            throw unsupported("relative_attention_num_buckets", relativeAttentionBuckets, "must be even and at least 4")
        }
        guard relativeAttentionMaximumDistance > relativeAttentionBuckets / 4 else {
            throw unsupported(
                "relative_attention_max_distance", relativeAttentionMaximumDistance,
                "must exceed relative_attention_num_buckets / 4 (\(relativeAttentionBuckets / 4)), the exact range")
        }
        guard layerNormEpsilon.isFinite, layerNormEpsilon > 0 else {
            throw unsupported("layer_norm_epsilon", layerNormEpsilon, "must be a positive finite number")
        }
    }
}
