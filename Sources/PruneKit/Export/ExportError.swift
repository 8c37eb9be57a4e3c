/// Errors writing or reading a pruned export. The destination is never left half-written.
public enum ExportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The destination exists and replacing it was not asked for.
    case destinationExists(path: String)
    /// The destination exists but is not a directory PruneKit wrote, so it is never replaced.
    case notPruneKitOutput(path: String)
    /// A file-system operation failed.
    case io(path: String, operation: String, reason: String)
    /// The source model's files could not be read or fingerprinted.
    case unreadableSource(path: String, reason: String)
    /// The configuration to write is not a JSON object.
    case invalidConfiguration(reason: String)
    /// A `prunekit.json` that does not decode.
    case invalidManifest(path: String, reason: String)
    /// Slicing the parameters failed.
    case surgery(SurgeryError)
    /// The selection removes whole blocks of `module`, and the architecture's `config.json` cannot say the new depth.
    case depthNotExpressible(architecture: String, module: String)

    public var description: String {
        switch self {
        case .destinationExists(let path): "\(path) already exists (pass replacing: true to overwrite it)"
        case .notPruneKitOutput(let path):
            "\(path) exists and was not written by PruneKit (no \(OutputMarker.directoryMarker) or \(OutputMarker.manifestName)); it is never replaced"
        case .io(let path, let operation, let reason): "\(operation) \(path) failed: \(reason)"
        case .unreadableSource(let path, let reason): "cannot read the source model \(path): \(reason)"
        case .invalidConfiguration(let reason): "the configuration to export is invalid: \(reason)"
        case .invalidManifest(let path, let reason): "\(path) is not a valid prunekit.json: \(reason)"
        case .surgery(let error): "pruning failed: \(error)"
        case .depthNotExpressible(let architecture, let module):
            "\(architecture) cannot write a config.json without blocks of \(module); prune heads and neurons only (--units heads,neurons)"
        }
    }
}
