import Foundation

/// A configuration value this package cannot build a FLUX transformer from.
public enum FluxConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `key` (a diffusers `config.json` key) holds `value`, which is not supported for `reason`.
    case unsupportedValue(key: String, value: String, reason: String)
    /// The file at `path` is not a readable JSON configuration.
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case .unsupportedValue(let key, let value, let reason): "config key \(key) = \(value) is not supported: \(reason)"
        case .unreadable(let path, let reason): "cannot read FLUX configuration \(path): \(reason)"
        }
    }
}

/// The hyper-parameters of diffusers' `FluxTransformer2DModel`, as in its `config.json`.
///
/// Decoding reads the diffusers (snake_case) keys and falls back to diffusers' constructor defaults for
/// absent ones (`patch_size` 1, `in_channels` 64, `out_channels` null → `in_channels`, `num_layers` 19,
/// `num_single_layers` 38, `attention_head_dim` 128, `num_attention_heads` 24, `joint_attention_dim` 4096,
/// `pooled_projection_dim` 768, `guidance_embeds` false, `axes_dims_rope` [16, 56, 56]); bookkeeping keys
/// (`_class_name`, `_diffusers_version`, `_name_or_path`) are checked or ignored. Values this
/// implementation cannot run throw ``FluxConfigurationError/unsupportedValue(key:value:reason:)`` naming
/// the key. Encoding writes the same keys, so an exported `config.json` loads in diffusers.
public struct FluxConfiguration: Codable, Sendable, Equatable {
    /// `patch_size`: must be 1 (FLUX.1 patchifies in the pipeline by 2×2 latent packing).
    public var patchSize: Int
    /// `in_channels`: packed latent channels (64 = 16 VAE channels × 2 × 2).
    public var inChannels: Int
    /// `out_channels`: `nil` means `inChannels`.
    public var outChannels: Int?
    /// `num_layers`: double-stream blocks.
    public var doubleBlockCount: Int
    /// `num_single_layers`: single-stream blocks.
    public var singleBlockCount: Int
    /// `attention_head_dim`.
    public var headDimension: Int
    /// `num_attention_heads` (of the unpruned model).
    public var headCount: Int
    /// `joint_attention_dim`: T5 hidden width.
    public var jointAttentionDimension: Int
    /// `pooled_projection_dim`: CLIP pooled width.
    public var pooledProjectionDimension: Int
    /// `guidance_embeds`: true for guidance-distilled models (FLUX.1-dev).
    public var guidanceEmbeds: Bool
    /// `axes_dims_rope`: RoPE widths per id axis; they sum to `headDimension`.
    public var ropeAxesDimensions: [Int]

    /// The diffusers model class this configuration describes.
    public static let className = "FluxTransformer2DModel"

    /// Every value explicit; diffusers' defaults where not given.
    public init(
        patchSize: Int = 1, inChannels: Int = 64, outChannels: Int? = nil, doubleBlockCount: Int = 19,
        singleBlockCount: Int = 38, headDimension: Int = 128, headCount: Int = 24, jointAttentionDimension: Int = 4096,
        pooledProjectionDimension: Int = 768, guidanceEmbeds: Bool = false, ropeAxesDimensions: [Int] = [16, 56, 56]
    ) {
        self.patchSize = patchSize
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.doubleBlockCount = doubleBlockCount
        self.singleBlockCount = singleBlockCount
        self.headDimension = headDimension
        self.headCount = headCount
        self.jointAttentionDimension = jointAttentionDimension
        self.pooledProjectionDimension = pooledProjectionDimension
        self.guidanceEmbeds = guidanceEmbeds
        self.ropeAxesDimensions = ropeAxesDimensions
    }

    /// black-forest-labs/FLUX.1-dev `transformer/config.json`: 19 double + 38 single blocks, 24 heads × 128,
    /// T5 width 4096, CLIP pooled 768, guidance embedding on, RoPE axes [16, 56, 56] (absent from the file,
    /// so diffusers' default). Source: the shipped config.json as quoted in
    /// `research/architectures.md` §2.1 [cfg], consistent with BFL `src/flux/util.py` (`hidden_size 3072,
    /// num_heads 24, depth 19, depth_single_blocks 38, axes_dim [16, 56, 56], guidance_embed True`).
    public static let fluxDev = FluxConfiguration(guidanceEmbeds: true)

    /// FLUX.1-dev's widths with one double and one single block (0.5 B parameters). The two block kinds do
    /// the same GEMM work per token (12·d² multiply-adds: double blocks split it over two streams) and the same
    /// joint attention, so a FLUX.1-dev step costs about 57/2 of this one's; `docs/scaling-out.md` times it
    /// on a machine that cannot hold the whole model.
    public static let fluxDevSlice = FluxConfiguration(doubleBlockCount: 1, singleBlockCount: 1, guidanceEmbeds: true)

    /// black-forest-labs/FLUX.1-schnell: FLUX.1-dev without the guidance embedder (`guidance_embeds` false).
    /// Source: `research/architectures.md` §2.1 (the schnell file itself unverified there) and BFL
    /// `src/flux/util.py`, where `flux-schnell` has `guidance_embed=False` and otherwise dev's parameters.
    public static let fluxSchnell = FluxConfiguration(guidanceEmbeds: false)

    /// Model width, `headCount · headDimension` (3072 for FLUX.1).
    public var innerDimension: Int { headCount * headDimension }
    /// Output channels, `outChannels ?? inChannels`.
    public var resolvedOutChannels: Int { outChannels ?? inChannels }
    /// FFN hidden width of the unpruned double blocks (`ff`, `ff_context`): `4 · innerDimension`.
    public var feedForwardWidth: Int { 4 * innerDimension }
    /// MLP hidden width of the unpruned single blocks: `int(innerDimension · mlp_ratio 4.0)`.
    public var singleMLPWidth: Int { 4 * innerDimension }

    // MARK: - Validation

    /// Throws for the first value this implementation cannot run.
    /// - Throws: ``FluxConfigurationError/unsupportedValue(key:value:reason:)``.
    public func validate() throws(FluxConfigurationError) {
        func unsupported(_ key: CodingKeys, _ value: Any, _ reason: String) -> FluxConfigurationError {
            .unsupportedValue(key: key.rawValue, value: "\(value)", reason: reason)
        }
        guard patchSize == 1 else {
            throw unsupported(.patchSize, patchSize, "only 1 is supported (FLUX.1 packs 2×2 latent patches in the pipeline)")
        }
        let positive: [(CodingKeys, Int)] = [
            (.inChannels, inChannels), (.headDimension, headDimension), (.headCount, headCount),
            (.jointAttentionDimension, jointAttentionDimension), (.pooledProjectionDimension, pooledProjectionDimension),
        ]
        for (key, value) in positive where value <= 0 { throw unsupported(key, value, "must be positive") }
        if let outChannels, outChannels <= 0 { throw unsupported(.outChannels, outChannels, "must be positive or null") }
        for (key, value) in [(CodingKeys.doubleBlockCount, doubleBlockCount), (.singleBlockCount, singleBlockCount)] where value < 0 {
            throw unsupported(key, value, "must not be negative")
        }
        let axes = ropeAxesDimensions
        guard !axes.isEmpty, axes.allSatisfy({ $0 > 0 && $0 % 2 == 0 }) else {
            throw unsupported(.ropeAxesDimensions, axes, "every RoPE axis width must be positive and even")
        }
        guard axes.reduce(0, +) == headDimension else {
            throw unsupported(.ropeAxesDimensions, axes, "the widths must sum to attention_head_dim (\(headDimension))")
        }
    }

    // MARK: - Codable

    enum CodingKeys: String, CodingKey {
        case className = "_class_name"
        case patchSize = "patch_size"
        case inChannels = "in_channels"
        case outChannels = "out_channels"
        case doubleBlockCount = "num_layers"
        case singleBlockCount = "num_single_layers"
        case headDimension = "attention_head_dim"
        case headCount = "num_attention_heads"
        case jointAttentionDimension = "joint_attention_dim"
        case pooledProjectionDimension = "pooled_projection_dim"
        case guidanceEmbeds = "guidance_embeds"
        case ropeAxesDimensions = "axes_dims_rope"
    }

    /// Decodes a diffusers `config.json`, defaulting absent keys and validating the result.
    /// - Throws: `DecodingError` for mistyped values, ``FluxConfigurationError`` for unsupported ones.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let name = try c.decodeIfPresent(String.self, forKey: .className), name != Self.className {
            throw FluxConfigurationError.unsupportedValue(
                key: CodingKeys.className.rawValue, value: name, reason: "expected \(Self.className)")
        }
        let defaults = FluxConfiguration()
        patchSize = try c.decodeIfPresent(Int.self, forKey: .patchSize) ?? defaults.patchSize
        inChannels = try c.decodeIfPresent(Int.self, forKey: .inChannels) ?? defaults.inChannels
        outChannels = try c.decodeIfPresent(Int.self, forKey: .outChannels)
        doubleBlockCount = try c.decodeIfPresent(Int.self, forKey: .doubleBlockCount) ?? defaults.doubleBlockCount
        singleBlockCount = try c.decodeIfPresent(Int.self, forKey: .singleBlockCount) ?? defaults.singleBlockCount
        headDimension = try c.decodeIfPresent(Int.self, forKey: .headDimension) ?? defaults.headDimension
        headCount = try c.decodeIfPresent(Int.self, forKey: .headCount) ?? defaults.headCount
        jointAttentionDimension = try c.decodeIfPresent(Int.self, forKey: .jointAttentionDimension) ?? defaults.jointAttentionDimension
        pooledProjectionDimension =
            try c.decodeIfPresent(Int.self, forKey: .pooledProjectionDimension) ?? defaults.pooledProjectionDimension
        guidanceEmbeds = try c.decodeIfPresent(Bool.self, forKey: .guidanceEmbeds) ?? defaults.guidanceEmbeds
        ropeAxesDimensions = try c.decodeIfPresent([Int].self, forKey: .ropeAxesDimensions) ?? defaults.ropeAxesDimensions
        try validate()
    }

    /// Encodes every diffusers key (`out_channels` as null when unset) plus `_class_name`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.className, forKey: .className)
        try c.encode(patchSize, forKey: .patchSize)
        try c.encode(inChannels, forKey: .inChannels)
        try c.encode(outChannels, forKey: .outChannels)
        try c.encode(doubleBlockCount, forKey: .doubleBlockCount)
        try c.encode(singleBlockCount, forKey: .singleBlockCount)
        try c.encode(headDimension, forKey: .headDimension)
        try c.encode(headCount, forKey: .headCount)
        try c.encode(jointAttentionDimension, forKey: .jointAttentionDimension)
        try c.encode(pooledProjectionDimension, forKey: .pooledProjectionDimension)
        try c.encode(guidanceEmbeds, forKey: .guidanceEmbeds)
        try c.encode(ropeAxesDimensions, forKey: .ropeAxesDimensions)
    }

    /// Reads and validates a `config.json`.
    /// - Throws: ``FluxConfigurationError/unreadable(path:reason:)`` when the file cannot be read or decoded,
    ///   ``FluxConfigurationError/unsupportedValue(key:value:reason:)`` for unsupported values.
    public static func load(path: String) throws(FluxConfigurationError) -> FluxConfiguration {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        do {
            return try JSONDecoder().decode(FluxConfiguration.self, from: data)
        } catch let error as FluxConfigurationError {
            throw error
        } catch let error as DecodingError {
            throw .unreadable(path: path, reason: Self.describe(error))
        } catch {
            throw .unreadable(path: path, reason: "\(error)")
        }
    }

    /// A one-line account of a decoding error that names the offending key.
    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .typeMismatch(let type, let context): return "\(path(context)): expected \(type) (\(context.debugDescription))"
        case .valueNotFound(let type, let context): return "\(path(context)): expected \(type), found null"
        case .keyNotFound(let key, _): return "missing key \(key.stringValue)"
        case .dataCorrupted(let context): return "\(path(context).isEmpty ? "file" : path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
