import PruneKit

/// Errors from cutting a LoRA to a pruned export; each names the file, folder or key involved.
public enum LoRAAdaptationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The folder is not a PruneKit pruned export (or pipeline).
    case notAPrunedExport(path: String, reason: String)
    /// The export's `config.json` cannot be read as its architecture's configuration.
    case configuration(path: String, reason: String)
    /// The export is of an architecture LoRA slicing does not know.
    case unsupportedArchitecture(path: String, className: String)
    /// `prunekit.json` does not describe the configuration.
    case manifestMismatch(path: String, module: String, reason: String)
    /// A weight of the export does not have the shape its `prunekit.json` gives.
    case prunedWeights(path: String, key: String, expected: [Int], actual: [Int]?)
    /// The LoRA file.
    case lora(LoRAError)
    /// Writing the output failed.
    case write(path: String, reason: String)

    public var description: String {
        switch self {
        case .notAPrunedExport(let path, let reason): "\(path) is not a PruneKit pruned export: \(reason)"
        case .configuration(let path, let reason): "\(path): \(reason)"
        case .unsupportedArchitecture(let path, let className):
            "\(path): LoRA slicing supports UNet2DConditionModel and FluxTransformer2DModel, not \(className)"
        case .manifestMismatch(let path, let module, let reason): "\(path): prunekit.json does not fit config.json at \(module): \(reason)"
        case .prunedWeights(let path, let key, let expected, let actual):
            "\(path): \(key) is \(actual.map { "\($0)" } ?? "missing"); prunekit.json's kept units give \(expected)"
        case .lora(let error): error.description
        case .write(let path, let reason): "cannot write \(path): \(reason)"
        }
    }
}
