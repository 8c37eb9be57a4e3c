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
