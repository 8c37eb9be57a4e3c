import Foundation

/// One JSON value of a configuration file.
enum ConfigurationValue: Decodable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array([ConfigurationValue])
    case object([String: ConfigurationValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([ConfigurationValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: ConfigurationValue].self))
        }
    }

    /// A short account for error messages.
    var brief: String {
        switch self {
        case .null: "null"
        case .bool(let value): "\(value)"
        case .integer(let value): "\(value)"
        case .number(let value): "\(value)"
        case .string(let value): "the string \"\(value)\""
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// Typed access to the keys of a transformers `config.json`, with errors that name the key and the file.
struct ConfigurationReader {
    let object: [String: ConfigurationValue]
    /// The file (or a description of the dictionary) for error messages.
    let path: String

    /// Parses `data` as a JSON object.
    init(data: Data, path: String) throws(TextEncoderConfigurationError) {
        let parsed: ConfigurationValue
        do { parsed = try JSONDecoder().decode(ConfigurationValue.self, from: data) } catch {
            throw .unreadable(path: path, reason: "not valid JSON")
        }
        guard case .object(let object) = parsed else {
            throw .unreadable(path: path, reason: "expected a JSON object at the top level, found \(parsed.brief)")
        }
        self.init(object: object, path: path)
    }

    init(object: [String: ConfigurationValue], path: String) {
        self.object = object
        self.path = path
    }

    /// Reads the file at `path`.
    static func load(path: String) throws(TextEncoderConfigurationError) -> ConfigurationReader {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        return try ConfigurationReader(data: data, path: path)
    }

    private func value(_ key: String) -> ConfigurationValue? {
        guard let value = object[key] else { return nil }
        if case .null = value { return nil }
        return value
    }

    /// An integer (JSON numbers with a fractional part are rejected); `fallback` when absent or null.
    func integer(_ key: String, default fallback: Int? = nil) throws(TextEncoderConfigurationError) -> Int {
        guard let raw = value(key) else {
            guard let fallback else { throw .missingKey(key: key, path: path) }
            return fallback
        }
        switch raw {
        case .integer(let value): return value
        case .number(let value) where value.rounded() == value && abs(value) < 1e15: return Int(value)
        default: throw .wrongType(key: key, expected: "an integer", found: raw.brief, path: path)
        }
    }

    /// A number; `fallback` when absent or null.
    func number(_ key: String, default fallback: Double? = nil) throws(TextEncoderConfigurationError) -> Double {
        guard let raw = value(key) else {
            guard let fallback else { throw .missingKey(key: key, path: path) }
            return fallback
        }
        switch raw {
        case .integer(let value): return Double(value)
        case .number(let value): return value
        default: throw .wrongType(key: key, expected: "a number", found: raw.brief, path: path)
        }
    }

    /// A string; `fallback` when absent or null.
    func string(_ key: String, default fallback: String? = nil) throws(TextEncoderConfigurationError) -> String {
        guard let raw = value(key) else {
            guard let fallback else { throw .missingKey(key: key, path: path) }
            return fallback
        }
        guard case .string(let string) = raw else {
            throw .wrongType(key: key, expected: "a string", found: raw.brief, path: path)
        }
        return string
    }

    /// The optional string at `key` (absent or null → `nil`).
    func optionalString(_ key: String) throws(TextEncoderConfigurationError) -> String? {
        guard value(key) != nil else { return nil }
        return try string(key)
    }

    /// The error for a value this implementation cannot run.
    func unsupported(_ key: String, _ value: Any, _ reason: String) -> TextEncoderConfigurationError {
        .unsupportedValue(key: key, value: "\(value)", reason: reason, path: path)
    }
}
