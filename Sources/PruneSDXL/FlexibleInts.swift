/// A diffusers config value that is either one integer for every block or a list, one per block.
public enum IntOrList: Codable, Sendable, Equatable {
    case single(Int)
    case list([Int])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Int.self) {
            self = .single(value)
        } else {
            self = .list(try container.decode([Int].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .single(let value): try container.encode(value)
        case .list(let values): try container.encode(values)
        }
    }

    /// One value per block: the single value repeated, or the list itself when it has `count` entries.
    public func expanded(to count: Int, key: String) throws(UNetConfigurationError) -> [Int] {
        switch self {
        case .single(let value): return Array(repeating: value, count: count)
        case .list(let values):
            guard values.count == count else {
                throw .invalid(key: key, reason: "has \(values.count) entries, expected one per block (\(count))")
            }
            return values
        }
    }
}

extension IntOrList: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int) { self = .single(value) }
}

/// diffusers' `transformer_layers_per_block`: one depth for every attention of every block (`1`), one entry per
/// down block (`[1, 2, 10]`), where an entry may itself list one depth per attention of that block
/// (`[1, [2, 1], [10, 7]]`, diffusers' per-layer form, which needs `reverse_transformer_layers_per_block`).
public enum TransformerLayerCounts: Codable, Sendable, Equatable {
    case single(Int)
    case list([IntOrList])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Int.self) {
            self = .single(value)
        } else {
            self = .list(try container.decode([IntOrList].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .single(let value): try container.encode(value)
        case .list(let values): try container.encode(values)
        }
    }

    /// One entry per block: the single value repeated, or the list itself when it has `count` entries.
    public func perBlock(count: Int, key: String) throws(UNetConfigurationError) -> [IntOrList] {
        switch self {
        case .single(let value): return Array(repeating: .single(value), count: count)
        case .list(let values):
            guard values.count == count else {
                throw .invalid(key: key, reason: "has \(values.count) entries, expected one per block (\(count))")
            }
            return values
        }
    }

    /// Whether some block's entry is a per-layer list.
    public var hasPerLayerLists: Bool {
        if case .list(let values) = self { return values.contains { if case .list = $0 { true } else { false } } }
        return false
    }
}

extension IntOrList {
    /// `layers` depths, one per attention of a block: the single value repeated, or the first `layers` entries of
    /// the list (diffusers indexes the list by attention, so a longer list is accepted and a shorter one is not).
    func depths(layers: Int, key: String) throws(UNetConfigurationError) -> [Int] {
        switch self {
        case .single(let value): return Array(repeating: value, count: layers)
        case .list(let values):
            guard values.count >= layers else {
                throw .invalid(key: key, reason: "lists \(values.count) depths for a block with \(layers) attentions")
            }
            return Array(values.prefix(layers))
        }
    }
}

extension TransformerLayerCounts {
    /// One depth per block: the single value repeated, or the list when it has `count` plain entries.
    /// - Throws: ``UNetConfigurationError/invalid(key:reason:)`` for a wrong count or a per-layer list (see
    ///   ``UNetConfiguration/resolvedTransformerDepths()`` for those).
    public func expanded(to count: Int, key: String) throws(UNetConfigurationError) -> [Int] {
        try perBlock(count: count, key: key).map { (entry: IntOrList) throws(UNetConfigurationError) -> Int in
            guard case .single(let value) = entry else { throw .invalid(key: key, reason: "lists depths per attention") }
            return value
        }
    }
}
