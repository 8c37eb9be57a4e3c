import Foundation

/// A JSON value: what `config.json` and `model_index.json` hold. Sendable and comparable, so derived
/// configurations can be compared with a folder's and handed across tasks.
public enum JSONValue: Sendable, Equatable, Codable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// An integer value.
    public static func int(_ value: Int) -> JSONValue { .number(Double(value)) }
    /// A list of integers.
    public static func ints(_ values: [Int]) -> JSONValue { .array(values.map { .int($0) }) }
    /// A list of strings.
    public static func strings(_ values: [String]) -> JSONValue { .array(values.map { .string($0) }) }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value):
            if value.rounded() == value, abs(value) < 1e15 { try container.encode(Int(value)) } else { try container.encode(value) }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The value as an integer, when it is a whole number.
    public var intValue: Int? {
        if case .number(let value) = self, value.rounded() == value { return Int(value) }
        return nil
    }
    /// The value as a number.
    public var doubleValue: Double? { if case .number(let value) = self { value } else { nil } }
    /// The value as a string.
    public var stringValue: String? { if case .string(let value) = self { value } else { nil } }
    /// The value as a Boolean.
    public var boolValue: Bool? { if case .bool(let value) = self { value } else { nil } }
    /// The value as an array.
    public var arrayValue: [JSONValue]? { if case .array(let value) = self { value } else { nil } }
    /// The value as an object.
    public var objectValue: [String: JSONValue]? { if case .object(let value) = self { value } else { nil } }
    /// True for `null`.
    public var isNull: Bool { self == .null }

    /// The member `key` of an object (`nil` for other values or an absent key).
    public subscript(key: String) -> JSONValue? { objectValue?[key] }

    /// Compact JSON with sorted keys.
    public var description: String { String(decoding: (try? JSONValue.encoded(self)) ?? Data(), as: UTF8.self) }

    /// The JSON bytes of `value` (keys sorted; pretty-printed when asked).
    public static func encoded(_ value: JSONValue, pretty: Bool = false) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted] : [.sortedKeys]
        return try encoder.encode(value)
    }

    /// Parses JSON bytes.
    public static func parse(_ data: Data) throws -> JSONValue { try JSONDecoder().decode(JSONValue.self, from: data) }
}

/// A `config.json` dictionary, as diffusers and transformers write it.
public typealias ComponentConfiguration = [String: JSONValue]

extension Dictionary where Key == String, Value == JSONValue {
    /// The configuration as `config.json` bytes (sorted keys), e.g. to decode a typed configuration:
    /// `try JSONDecoder().decode(UNetConfiguration.self, from: configuration.jsonData())`.
    public func jsonData(pretty: Bool = false) throws -> Data { try JSONValue.encoded(.object(self), pretty: pretty) }
}
