/// How many units each maskable module of a model has: a pruned model is its configuration plus this map.
///
/// Keys are module keys — the keys of `mask.<module key>` files and of ``UnitMasks`` — such as
/// `transformer_blocks.3.attn` (heads), `single_transformer_blocks.0.mlp` (neurons) or
/// `down_blocks.1.attentions.0.transformer_blocks.0.ff` (GEGLU neurons); values are the units the module
/// keeps. A module the map does not name has its configuration's width, so the empty map is the unpruned
/// model. Layers read their width from it where they are built:
///
/// ```swift
/// let heads = widths.units(of: scope.key("attn"), default: configuration.headCount)
/// ```
///
/// Encoded as a plain JSON object, `{"transformer_blocks.0.attn": 20, …}`.
public struct UnitWidths: Sendable, Equatable, Codable {
    /// Kept units by module key; modules not listed have their configuration's width.
    public var counts: [String: Int]

    public init(_ counts: [String: Int] = [:]) {
        self.counts = counts
    }

    /// The unpruned widths: every module as its configuration says.
    public static let configuration = UnitWidths()

    /// The units of `moduleKey`: its entry, or `configured` (the configuration's width) when it has none.
    public func units(of moduleKey: String, default configured: Int) -> Int {
        counts[moduleKey] ?? configured
    }

    /// The entry of `moduleKey`, if any.
    public subscript(moduleKey: String) -> Int? {
        get { counts[moduleKey] }
        set { counts[moduleKey] = newValue }
    }

    public init(from decoder: any Decoder) throws {
        counts = try decoder.singleValueContainer().decode([String: Int].self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(counts)
    }
}
