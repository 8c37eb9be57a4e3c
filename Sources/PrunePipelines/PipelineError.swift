import Foundation

/// Errors of pipeline-level work: encoding prompts, assembling a pipeline's components.
public enum PipelineError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A text encoder failed on its input.
    case encoder(component: String, reason: String)
    /// A setting outside its valid range.
    case badSetting(String)
    /// A component the pipeline needs is missing or cannot be loaded.
    case component(name: String, path: String, reason: String)

    public var description: String {
        switch self {
        case .encoder(let component, let reason): "\(component): \(reason)"
        case .badSetting(let message): message
        case .component(let name, let path, let reason): "\(path): component \(name) \(reason)"
        }
    }
}
