import Foundation

/// Why an output was refused before any work started. Every case names the flag and the path.
public enum OutputSafetyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// How an output relates to another path it must stay clear of.
    public enum Overlap: String, Sendable {
        case same = "is the same path as"
        case inside = "is inside"
        case contains = "contains"
    }

    /// The output path is empty.
    case empty(flag: String)
    /// The output is a place no command may write or replace: the root, the home directory, the working
    /// directory, or a folder that holds one of them.
    case protected(flag: String, path: String, what: String)
    /// The output overlaps an input (the input would be replaced, deleted, or written into).
    case overlapsInput(flag: String, path: String, overlap: Overlap, inputFlag: String, inputPath: String)
    /// Two outputs of one command overlap.
    case overlapsOutput(flag: String, path: String, overlap: Overlap, otherFlag: String, otherPath: String)
    /// The output exists and `--overwrite` was not given.
    case exists(flag: String, path: String)
    /// The output exists but PruneKit did not write it, so `--overwrite` does not replace it.
    case notPruneKitOutput(flag: String, path: String, holds: String)
    /// Another process is writing the same output.
    case busy(flag: String, path: String, holder: String?)
    /// A file-system operation needed to claim the output failed.
    case io(flag: String, path: String, operation: String, reason: String)

    public var description: String {
        switch self {
        case .empty(let flag):
            "\(flag) is empty: give the path to write"
        case .protected(let flag, let path, let what):
            "\(flag) \(path) is \(what); PruneKit never writes over it: give a new path"
        case .overlapsInput(let flag, let path, let overlap, let inputFlag, let inputPath):
            "\(flag) \(path) \(overlap.rawValue) the input \(inputFlag) \(inputPath); an output must be outside every input: give another path"
        case .overlapsOutput(let flag, let path, let overlap, let otherFlag, let otherPath):
            "\(flag) \(path) \(overlap.rawValue) \(otherFlag) \(otherPath); outputs of one run must not overlap"
        case .exists(let flag, let path):
            "\(flag) \(path) already exists (pass --overwrite to replace it)"
        case .notPruneKitOutput(let flag, let path, let holds):
            "\(flag) \(path) exists and was not written by PruneKit (\(holds)); --overwrite replaces only PruneKit's own outputs: choose another path or remove it yourself"
        case .busy(let flag, let path, let holder):
            "\(flag) \(path) is being written by another prunekit process\(holder.map { " (pid \($0))" } ?? ""); wait for it to finish or choose another path"
        case .io(let flag, let path, let operation, let reason):
            "\(flag) \(path): \(operation) failed: \(reason)"
        }
    }
}
