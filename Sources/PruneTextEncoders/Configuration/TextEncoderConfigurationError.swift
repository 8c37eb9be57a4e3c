/// A text-encoder `config.json` this package cannot build a model from.
public enum TextEncoderConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file at `path` could not be read or is not a JSON object.
    case unreadable(path: String, reason: String)
    /// `key` is required and absent.
    case missingKey(key: String, path: String)
    /// `key` holds a value of the wrong JSON type (`expected` names the type).
    case wrongType(key: String, expected: String, found: String, path: String)
    /// `key` holds `value`, which this implementation cannot run for `reason`.
    case unsupportedValue(key: String, value: String, reason: String, path: String)

    /// The configuration key involved, if any.
    public var key: String? {
        switch self {
        case .unreadable: nil
        case .missingKey(let key, _), .wrongType(let key, _, _, _), .unsupportedValue(let key, _, _, _): key
        }
    }

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read text-encoder configuration \(path): \(reason)"
        case .missingKey(let key, let path): "\(path): required key \(key) is missing"
        case .wrongType(let key, let expected, let found, let path): "\(path): \(key) must be \(expected), found \(found)"
        case .unsupportedValue(let key, let value, let reason, let path):
            "\(path): \(key) = \(value) is not supported: \(reason)"
        }
    }
}
