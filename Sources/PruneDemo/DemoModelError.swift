/// Errors from demo-model files, configurations and options, each naming what was expected.
public enum DemoModelError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A configuration value that cannot build a model.
    case invalidConfiguration(String)
    /// A file of a demo model directory is missing or malformed.
    case badFile(path: String, reason: String)
    /// A checkpoint to resume from does not fit the run.
    case badCheckpoint(path: String, reason: String)
    /// A PNG could not be written or read.
    case png(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let reason): "invalid demo configuration: \(reason)"
        case .badFile(let path, let reason): "\(path): \(reason)"
        case .badCheckpoint(let path, let reason): "cannot resume from \(path): \(reason)"
        case .png(let path, let reason): "PNG \(path): \(reason)"
        }
    }
}
