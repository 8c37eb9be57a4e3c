/// Errors raised while configuring a scheduler or setting its timesteps.
public enum SchedulerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A `scheduler_config.json` key holds a value this implementation does not support.
    case unsupportedOption(key: String, value: String, supported: [String])
    /// A `scheduler_config.json` key holds a value that is out of range or inconsistent.
    case invalidOption(key: String, value: String, reason: String)
    /// `setTimesteps` was asked for an impossible number of steps (zero, or more than the schedule allows).
    case invalidStepCount(Int, reason: String)
    /// `use_dynamic_shifting` is on and `setTimesteps` was called without `mu`.
    case missingMu
    /// Custom sigmas passed to `setTimesteps(sigmas:mu:)` are unusable.
    case invalidSigmas(String)
    /// A `_class_name` this package has no scheduler for.
    case unknownSchedulerClass(String)
    /// A preset name that ``SchedulerPreset`` does not know.
    case unknownPreset(String)

    public var description: String {
        switch self {
        case .unsupportedOption(let key, let value, let supported):
            "scheduler config key '\(key)' = \(value) is not supported (supported: \(supported.joined(separator: ", ")))"
        case .invalidOption(let key, let value, let reason):
            "scheduler config key '\(key)' = \(value) is invalid: \(reason)"
        case .invalidStepCount(let steps, let reason):
            "cannot set \(steps) inference steps: \(reason)"
        case .missingMu:
            "use_dynamic_shifting is true, so setTimesteps needs mu (see FlowMatchEulerDiscreteScheduler.calculateShift)"
        case .invalidSigmas(let reason):
            "invalid custom sigmas: \(reason)"
        case .unknownSchedulerClass(let name):
            "no scheduler implementation for _class_name '\(name)'"
        case .unknownPreset(let name):
            "unknown scheduler preset '\(name)' (known: \(SchedulerPreset.allCases.map(\.rawValue).joined(separator: ", ")))"
        }
    }
}
