import Foundation

/// Errors in a `UNet2DConditionModel` configuration.
public enum UNetConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `key` has a value PruneKit does not implement.
    case unsupported(key: String, value: String)
    /// `key` is inconsistent with the rest of the configuration.
    case invalid(key: String, reason: String)
    /// The file could not be read or decoded.
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case .unsupported(let key, let value): "unsupported UNet config value \(key) = \(value)"
        case .invalid(let key, let reason): "invalid UNet config: \(key) \(reason)"
        case .unreadable(let path, let reason): "cannot read UNet config \(path): \(reason)"
        }
    }
}

/// The `config.json` of a diffusers `UNet2DConditionModel` (SDXL family), with diffusers' defaults for
/// absent keys. Values PruneKit does not implement are rejected by ``validate()``.
public struct UNetConfiguration: Codable, Sendable, Equatable {
    public var sampleSize: Int?
    public var inChannels: Int = 4
    public var outChannels: Int = 4
    public var centerInputSample: Bool = false
    public var flipSinToCos: Bool = true
    public var freqShift: Int = 0
    public var downBlockTypes: [String] = ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]
    public var midBlockType: String? = "UNetMidBlock2DCrossAttn"
    public var upBlockTypes: [String] = ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]
    public var onlyCrossAttention: Bool = false
    public var blockOutChannels: [Int] = [320, 640, 1280, 1280]
    public var layersPerBlock: IntOrList = .single(2)
    public var downsamplePadding: Int = 1
    public var midBlockScaleFactor: Float = 1
    public var actFn: String = "silu"
    public var normNumGroups: Int = 32
    public var normEps: Float = 1e-5
    public var crossAttentionDim: IntOrList = .single(1280)
    /// `transformer_layers_per_block`: per block, or per attention of each down block (see
    /// ``resolvedTransformerDepths()``).
    public var transformerLayersPerBlock: TransformerLayerCounts = .single(1)
    /// `reverse_transformer_layers_per_block`: the up blocks' depths, one entry per up block in up-block order (an
    /// int or one depth per attention); required by diffusers when `transformer_layers_per_block` has per-layer lists.
    public var reverseTransformerLayersPerBlock: [IntOrList]?
    public var attentionHeadDim: IntOrList = .single(8)
    public var numAttentionHeads: IntOrList?
    public var dualCrossAttention: Bool = false
    public var useLinearProjection: Bool = false
    public var classEmbedType: String?
    public var additionEmbedType: String?
    public var additionTimeEmbedDim: Int?
    public var projectionClassEmbeddingsInputDim: Int?
    public var resnetTimeScaleShift: String = "default"
    public var resnetOutScaleFactor: Float = 1
    public var timeEmbeddingType: String = "positional"
    public var timeEmbeddingDim: Int?
    public var timeEmbeddingActFn: String?
    public var timeCondProjDim: Int?
    public var convInKernel: Int = 3
    public var convOutKernel: Int = 3
    public var encoderHidDim: Int?
    public var attentionType: String = "default"

    public init() {}

    enum CodingKeys: String, CodingKey {
        case sampleSize = "sample_size", inChannels = "in_channels", outChannels = "out_channels"
        case centerInputSample = "center_input_sample", flipSinToCos = "flip_sin_to_cos", freqShift = "freq_shift"
        case downBlockTypes = "down_block_types", midBlockType = "mid_block_type", upBlockTypes = "up_block_types"
        case onlyCrossAttention = "only_cross_attention", blockOutChannels = "block_out_channels"
        case layersPerBlock = "layers_per_block", downsamplePadding = "downsample_padding"
        case midBlockScaleFactor = "mid_block_scale_factor", actFn = "act_fn", normNumGroups = "norm_num_groups"
        case normEps = "norm_eps", crossAttentionDim = "cross_attention_dim"
        case transformerLayersPerBlock = "transformer_layers_per_block", attentionHeadDim = "attention_head_dim"
        case reverseTransformerLayersPerBlock = "reverse_transformer_layers_per_block"
        case numAttentionHeads = "num_attention_heads", dualCrossAttention = "dual_cross_attention"
        case useLinearProjection = "use_linear_projection", classEmbedType = "class_embed_type"
        case additionEmbedType = "addition_embed_type", additionTimeEmbedDim = "addition_time_embed_dim"
        case projectionClassEmbeddingsInputDim = "projection_class_embeddings_input_dim"
        case resnetTimeScaleShift = "resnet_time_scale_shift", resnetOutScaleFactor = "resnet_out_scale_factor"
        case timeEmbeddingType = "time_embedding_type", timeEmbeddingDim = "time_embedding_dim"
        case timeEmbeddingActFn = "time_embedding_act_fn", timeCondProjDim = "time_cond_proj_dim"
        case convInKernel = "conv_in_kernel", convOutKernel = "conv_out_kernel", encoderHidDim = "encoder_hid_dim"
        case attentionType = "attention_type"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func value<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
            try c.decodeIfPresent(T.self, forKey: key) ?? fallback
        }
        let defaults = UNetConfiguration()
        sampleSize = try c.decodeIfPresent(Int.self, forKey: .sampleSize)
        inChannels = try value(.inChannels, defaults.inChannels)
        outChannels = try value(.outChannels, defaults.outChannels)
        centerInputSample = try value(.centerInputSample, defaults.centerInputSample)
        flipSinToCos = try value(.flipSinToCos, defaults.flipSinToCos)
        freqShift = try value(.freqShift, defaults.freqShift)
        downBlockTypes = try value(.downBlockTypes, defaults.downBlockTypes)
        midBlockType = try c.contains(.midBlockType) ? c.decodeIfPresent(String.self, forKey: .midBlockType) : defaults.midBlockType
        upBlockTypes = try value(.upBlockTypes, defaults.upBlockTypes)
        if let flag = try? c.decodeIfPresent(Bool.self, forKey: .onlyCrossAttention) {
            onlyCrossAttention = flag
        } else if let flags = try? c.decodeIfPresent([Bool].self, forKey: .onlyCrossAttention) {
            onlyCrossAttention = flags.contains(true)
        }
        blockOutChannels = try value(.blockOutChannels, defaults.blockOutChannels)
        layersPerBlock = try value(.layersPerBlock, defaults.layersPerBlock)
        downsamplePadding = try value(.downsamplePadding, defaults.downsamplePadding)
        midBlockScaleFactor = try value(.midBlockScaleFactor, defaults.midBlockScaleFactor)
        actFn = try value(.actFn, defaults.actFn)
        normNumGroups = try value(.normNumGroups, defaults.normNumGroups)
        normEps = try value(.normEps, defaults.normEps)
        crossAttentionDim = try value(.crossAttentionDim, defaults.crossAttentionDim)
        transformerLayersPerBlock = try value(.transformerLayersPerBlock, defaults.transformerLayersPerBlock)
        reverseTransformerLayersPerBlock = try c.decodeIfPresent([IntOrList].self, forKey: .reverseTransformerLayersPerBlock)
        attentionHeadDim = try value(.attentionHeadDim, defaults.attentionHeadDim)
        numAttentionHeads = try c.decodeIfPresent(IntOrList.self, forKey: .numAttentionHeads)
        dualCrossAttention = try value(.dualCrossAttention, defaults.dualCrossAttention)
        useLinearProjection = try value(.useLinearProjection, defaults.useLinearProjection)
        classEmbedType = try c.decodeIfPresent(String.self, forKey: .classEmbedType)
        additionEmbedType = try c.decodeIfPresent(String.self, forKey: .additionEmbedType)
        additionTimeEmbedDim = try c.decodeIfPresent(Int.self, forKey: .additionTimeEmbedDim)
        projectionClassEmbeddingsInputDim = try c.decodeIfPresent(Int.self, forKey: .projectionClassEmbeddingsInputDim)
        resnetTimeScaleShift = try value(.resnetTimeScaleShift, defaults.resnetTimeScaleShift)
        resnetOutScaleFactor = try value(.resnetOutScaleFactor, defaults.resnetOutScaleFactor)
        timeEmbeddingType = try value(.timeEmbeddingType, defaults.timeEmbeddingType)
        timeEmbeddingDim = try c.decodeIfPresent(Int.self, forKey: .timeEmbeddingDim)
        timeEmbeddingActFn = try c.decodeIfPresent(String.self, forKey: .timeEmbeddingActFn)
        timeCondProjDim = try c.decodeIfPresent(Int.self, forKey: .timeCondProjDim)
        convInKernel = try value(.convInKernel, defaults.convInKernel)
        convOutKernel = try value(.convOutKernel, defaults.convOutKernel)
        encoderHidDim = try c.decodeIfPresent(Int.self, forKey: .encoderHidDim)
        attentionType = try value(.attentionType, defaults.attentionType)
    }

    /// Reads and validates `config.json`.
    /// - Throws: ``UNetConfigurationError``.
    public static func load(contentsOf path: String) throws(UNetConfigurationError) -> UNetConfiguration {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        let configuration: UNetConfiguration
        do { configuration = try JSONDecoder().decode(UNetConfiguration.self, from: data) } catch {
            throw .unreadable(path: path, reason: "\(error)")
        }
        try configuration.validate()
        return configuration
    }

    /// Rejects what PruneKit does not implement, naming the key.
    public func validate() throws(UNetConfigurationError) {
        let levels = blockOutChannels.count
        guard levels > 0 else { throw .invalid(key: "block_out_channels", reason: "is empty") }
        guard downBlockTypes.count == levels else {
            throw .invalid(key: "down_block_types", reason: "has \(downBlockTypes.count) entries for \(levels) levels")
        }
        guard upBlockTypes.count == levels else {
            throw .invalid(key: "up_block_types", reason: "has \(upBlockTypes.count) entries for \(levels) levels")
        }
        for type in downBlockTypes where !["DownBlock2D", "CrossAttnDownBlock2D"].contains(type) {
            throw .unsupported(key: "down_block_types", value: type)
        }
        for type in upBlockTypes where !["UpBlock2D", "CrossAttnUpBlock2D"].contains(type) {
            throw .unsupported(key: "up_block_types", value: type)
        }
        if let midBlockType, midBlockType != "UNetMidBlock2DCrossAttn" { throw .unsupported(key: "mid_block_type", value: midBlockType) }
        if actFn != "silu" { throw .unsupported(key: "act_fn", value: actFn) }
        if onlyCrossAttention { throw .unsupported(key: "only_cross_attention", value: "true") }
        if dualCrossAttention { throw .unsupported(key: "dual_cross_attention", value: "true") }
        if centerInputSample { throw .unsupported(key: "center_input_sample", value: "true") }
        if let classEmbedType { throw .unsupported(key: "class_embed_type", value: classEmbedType) }
        if let encoderHidDim { throw .unsupported(key: "encoder_hid_dim", value: "\(encoderHidDim)") }
        if let additionEmbedType, additionEmbedType != "text_time" { throw .unsupported(key: "addition_embed_type", value: additionEmbedType) }
        if additionEmbedType == "text_time" {
            guard additionTimeEmbedDim != nil else { throw .invalid(key: "addition_time_embed_dim", reason: "is required for text_time") }
            guard projectionClassEmbeddingsInputDim != nil else {
                throw .invalid(key: "projection_class_embeddings_input_dim", reason: "is required for text_time")
            }
        }
        if resnetTimeScaleShift != "default" { throw .unsupported(key: "resnet_time_scale_shift", value: resnetTimeScaleShift) }
        if timeEmbeddingType != "positional" { throw .unsupported(key: "time_embedding_type", value: timeEmbeddingType) }
        if let timeEmbeddingActFn { throw .unsupported(key: "time_embedding_act_fn", value: timeEmbeddingActFn) }
        if convInKernel != 3 { throw .unsupported(key: "conv_in_kernel", value: "\(convInKernel)") }
        if convOutKernel != 3 { throw .unsupported(key: "conv_out_kernel", value: "\(convOutKernel)") }
        if attentionType != "default" { throw .unsupported(key: "attention_type", value: attentionType) }
        _ = try resolvedLevels()
    }

    /// The per-level values the model is built from.
    public struct Level: Sendable, Equatable {
        public var outChannels: Int
        public var layers: Int
        /// Blocks of the level's first down attention (the level's depth unless per-layer lists give each attention
        /// its own; see ``UNetConfiguration/resolvedTransformerDepths()``).
        public var transformerDepth: Int
        /// Heads per attention (diffusers: `num_attention_heads or attention_head_dim` — the legacy name).
        public var heads: Int
        public var crossAttentionDimension: Int
    }

    /// Per-level channels, layers, transformer depth, head counts and cross-attention widths.
    public func resolvedLevels() throws(UNetConfigurationError) -> [Level] {
        let count = blockOutChannels.count
        let layers = try layersPerBlock.expanded(to: count, key: "layers_per_block")
        let depths = try resolvedTransformerDepths().down.map { $0.first ?? 0 }
        // diffusers: `num_attention_heads = num_attention_heads or attention_head_dim`.
        let heads = try (numAttentionHeads ?? attentionHeadDim).expanded(
            to: count, key: numAttentionHeads == nil ? "attention_head_dim" : "num_attention_heads")
        let crossDimensions = try crossAttentionDim.expanded(to: count, key: "cross_attention_dim")
        guard normNumGroups > 0 else { throw .invalid(key: "norm_num_groups", reason: "= \(normNumGroups), must be positive") }
        for (key, values) in [
            ("block_out_channels", blockOutChannels), ("layers_per_block", layers),
            ("cross_attention_dim", crossDimensions),
        ] {
            if let bad = values.first(where: { $0 < (key == "block_out_channels" || key == "cross_attention_dim" ? 1 : 0) }) {
                throw .invalid(key: key, reason: "has the entry \(bad); widths must be positive and depths not negative")
            }
        }
        for (key, value) in [("addition_time_embed_dim", additionTimeEmbedDim), ("projection_class_embeddings_input_dim", projectionClassEmbeddingsInputDim)] {
            if let value, value < 1 { throw .invalid(key: key, reason: "= \(value), must be positive") }
        }
        if additionEmbedType == "text_time", let time = additionTimeEmbedDim, let projection = projectionClassEmbeddingsInputDim,
            projection <= 6 * time
        {
            throw .invalid(
                key: "projection_class_embeddings_input_dim",
                reason: "= \(projection) leaves no room for the pooled text embedding next to 6 × addition_time_embed_dim (\(6 * time))")
        }
        return try (0..<count).map { (i: Int) throws(UNetConfigurationError) -> Level in
            let level = Level(
                outChannels: blockOutChannels[i], layers: layers[i], transformerDepth: depths[i], heads: heads[i],
                crossAttentionDimension: crossDimensions[i])
            guard level.heads > 0, level.outChannels % level.heads == 0 else {
                throw .invalid(key: "attention_head_dim", reason: "\(level.heads) heads do not divide \(level.outChannels) channels")
            }
            guard level.outChannels % normNumGroups == 0 else {
                throw .invalid(key: "norm_num_groups", reason: "\(normNumGroups) does not divide \(level.outChannels) channels")
            }
            return level
        }
    }

    /// The number of `BasicTransformerBlock`s of every `Transformer2DModel`, as diffusers builds them.
    public struct TransformerDepths: Sendable, Equatable {
        /// Per down block, per attention (`down_blocks.i.attentions.j`); `layers_per_block[i]` entries (unused for
        /// blocks without attention).
        public var down: [[Int]]
        /// `mid_block.attentions.0`.
        public var mid: Int
        /// Per up block (up-block order), per attention; `layers_per_block` reversed + 1 entries.
        public var up: [[Int]]
    }

    /// The depth of every `Transformer2DModel`, with diffusers' rules: `transformer_layers_per_block` gives the down
    /// blocks (per block or per attention); the mid block takes its last entry (the first depth of a per-layer
    /// list); the up blocks take `reverse_transformer_layers_per_block` when given, else the down entries reversed —
    /// which diffusers refuses when some entry is a per-layer list.
    /// - Throws: ``UNetConfigurationError`` for a missing reverse list, wrong counts or negative depths.
    public func resolvedTransformerDepths() throws(UNetConfigurationError) -> TransformerDepths {
        let count = blockOutChannels.count
        let key = "transformer_layers_per_block"
        let reverseKey = "reverse_transformer_layers_per_block"
        let layers = try layersPerBlock.expanded(to: count, key: "layers_per_block")
        let entries = try transformerLayersPerBlock.perBlock(count: count, key: key)
        var down: [[Int]] = []
        for (entry, layerCount) in zip(entries, layers) { down.append(try entry.depths(layers: max(layerCount, 1), key: key)) }
        let mid: Int
        switch entries.last {
        case .single(let value)?: mid = value
        case .list(let values)?:
            guard let first = values.first else { throw .invalid(key: key, reason: "has an empty per-layer list for the mid block") }
            mid = first
        case nil: mid = 0
        }
        let upEntries: [IntOrList]
        if let reverse = reverseTransformerLayersPerBlock {
            guard reverse.count == count else {
                throw .invalid(key: reverseKey, reason: "has \(reverse.count) entries, expected one per up block (\(count))")
            }
            upEntries = reverse
        } else {
            guard !transformerLayersPerBlock.hasPerLayerLists else {
                throw .invalid(key: reverseKey, reason: "is required when \(key) lists depths per attention (diffusers refuses the config without it)")
            }
            upEntries = entries.reversed()
        }
        var up: [[Int]] = []
        for (entry, layerCount) in zip(upEntries, layers.reversed()) {
            up.append(try entry.depths(layers: layerCount + 1, key: reverseTransformerLayersPerBlock == nil ? key : reverseKey))
        }
        for (name, values) in [(key, down.flatMap { $0 } + [mid]), (reverseKey, up.flatMap { $0 })] {
            if let bad = values.first(where: { $0 < 0 }) {
                throw .invalid(key: name, reason: "has the depth \(bad); depths must not be negative")
            }
        }
        return TransformerDepths(down: down, mid: mid, up: up)
    }

    /// Width of the time embedding (`time_embedding_dim` or 4 × the first level's channels).
    public var timeEmbeddingDimension: Int { timeEmbeddingDim ?? blockOutChannels[0] * 4 }
}
