import Foundation

/// Errors of pipeline-level work — reading a pipeline folder or a single-file checkpoint, encoding prompts; each
/// names the file or component and what was expected.
public enum PipelineError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A file that should exist does not (`purpose` says which file was expected).
    case missingFile(path: String, purpose: String)
    /// A JSON file that is not what was expected.
    case badJSON(path: String, reason: String)
    /// `model_index.json` names a pipeline class PruneKit does not read.
    case unknownPipelineClass(path: String, className: String, known: [String])
    /// `model_index.json` gives `component` a class PruneKit does not read in that slot.
    case unknownComponentClass(path: String, component: String, className: String, expected: [String])
    /// The pipeline has no such component, or it is `null` in `model_index.json`.
    case noComponent(path: String, component: String, available: [String])
    /// A component folder that holds no weights.
    case noWeights(directory: String, expected: [String])
    /// A single file that is not the kind of checkpoint asked for.
    case notACheckpoint(path: String, expected: String, reason: String)
    /// A tensor whose shape does not fit the layout the rest of the checkpoint implies.
    case inconsistent(path: String, key: String, reason: String)
    /// A weights file that cannot be opened.
    case unreadable(path: String, reason: String)
    /// A text encoder failed on its input.
    case encoder(component: String, reason: String)
    /// A setting outside its valid range.
    case badSetting(String)

    public var description: String {
        switch self {
        case .missingFile(let path, let purpose): "\(path) not found (\(purpose))"
        case .badJSON(let path, let reason): "\(path): \(reason)"
        case .unknownPipelineClass(let path, let className, let known):
            "\(path): pipeline class \(className) is not supported (known: \(known.joined(separator: ", ")))"
        case .unknownComponentClass(let path, let component, let className, let expected):
            "\(path): component \(component) is a \(className); expected \(expected.joined(separator: " or "))"
        case .noComponent(let path, let component, let available):
            "\(path): the pipeline has no \(component) component (it has: \(available.joined(separator: ", ")))"
        case .noWeights(let directory, let expected):
            "\(directory): no weights (expected \(expected.joined(separator: ", ")), or an fp16 variant)"
        case .notACheckpoint(let path, let expected, let reason): "\(path) is not \(expected): \(reason)"
        case .inconsistent(let path, let key, let reason): "\(path): \(key) \(reason)"
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        case .encoder(let component, let reason): "\(component): \(reason)"
        case .badSetting(let message): message
        }
    }
}
