import Foundation

/// Errors from binarising scores into a selection; each names the module or pattern involved.
public enum PlanError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A score of `module` is NaN.
    case nanScore(module: String, unit: Int)
    /// An included module has no scores.
    case missingScores(module: String)
    /// A module's score count differs from its unit count.
    case scoreCount(module: String, expected: Int, actual: Int)
    /// A target fraction outside `[0, 1]`.
    case targetOutOfRange(Double)
    /// A fraction of the model's parameters larger than the share its eligible units hold (`maskable`).
    case targetExceedsMaskable(Double, maskable: Double)
    /// A per-kind fraction of the model's parameters larger than the share that kind's eligible units hold.
    case targetExceedsKind(Double, kind: UnitKind, maskable: Double)
    /// A regular expression that does not compile.
    case invalidPattern(String, reason: String)
    /// Two unit groups share one module key.
    case duplicateModule(String)

    public var description: String {
        switch self {
        case .nanScore(let module, let unit): "module \(module): score of unit \(unit) is NaN"
        case .missingScores(let module): "module \(module): no scores"
        case .scoreCount(let module, let expected, let actual): "module \(module): expected \(expected) scores, got \(actual)"
        case .targetOutOfRange(let value): "pruning target \(value) is outside [0, 1]"
        case .targetExceedsMaskable(let value, let maskable):
            "pruning target \(value) of the model's parameters exceeds what its eligible units hold: "
                + String(format: "%.4f", maskable) + " of the parameters are maskable"
        case .targetExceedsKind(let value, let kind, let maskable):
            "pruning target \(value) of the model's parameters for unit kind \(kind.rawValue) exceeds what its eligible units hold: "
                + String(format: "%.4f", maskable) + " of the parameters are \(kind.rawValue) units"
        case .invalidPattern(let pattern, let reason): "invalid module pattern '\(pattern)': \(reason)"
        case .duplicateModule(let module): "module \(module) is described by two unit groups"
        }
    }
}
