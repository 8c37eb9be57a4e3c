import PrunePluginKit

/// The gradient-flow criterion's knobs (each settable as a `--plugin-option gradient-flow.KEY=VALUE`).
struct GradientFlowSettings {
    /// Soft-pruning iterations K: each rescoring the masked model and moving the masks once.
    var iterations = 5
    /// Step size η of one gradient-flow step, in mask units (the loss gradient is normalised to max 1).
    var stepSize: Float = 0.2
    /// Largest weight λ of the sparsity pressure (reached at the last iteration; λ_k = λ·k/K).
    var pressure: Float = 1
    /// Probe distance ε of the finite-difference Hessian-vector product, in mask units.
    var epsilon: Float = 0.05

    /// Sets `key` from `text`.
    /// - Throws: ``PluginFailure`` naming the key and the accepted range.
    mutating func set(_ key: String, to text: String) throws {
        switch key {
        case "iterations":
            guard let value = Int(text), value >= 1, value <= 1000 else { throw PluginFailure.invalidArgument("iterations must be an integer in 1…1000, got '\(text)'") }
            iterations = value
        case "step-size", "pressure", "epsilon":
            guard let value = Float(text), value.isFinite, value > 0 else { throw PluginFailure.invalidArgument("\(key) must be a positive number, got '\(text)'") }
            switch key {
            case "step-size": stepSize = value
            case "pressure": pressure = value
            default: epsilon = value
            }
        default:
            throw PluginFailure.invalidArgument("unknown option '\(key)' (known: iterations, step-size, pressure, epsilon)")
        }
    }
}
