import PruneTensor

/// An exponential moving average of parameters (the weights a demo model ships with).
///
/// After optimizer step `t` (counted from 1): `e ← d_t·e + (1 − d_t)·p` with the warm-up decay
/// `d_t = min(decay, (1 + t) / (10 + t))`, so early averages are not dominated by the random initialisation.
///
/// This implementation matches: diffusers `training_utils.EMAModel` with `use_ema_warmup=False`
/// (`decay = min(decay, (1 + step) / (10 + step))`).
public final class ExponentialMovingAverage: @unchecked Sendable {
    /// The target decay.
    public let decay: Float
    /// The averages by parameter key, each shaped like its parameter.
    public private(set) var shadows: [String: Tensor]

    /// Starts every average at the parameter's current value.
    public init(parameters: [(key: String, tensor: Tensor)], decay: Float) {
        precondition((0..<1).contains(decay), "EMA decay must lie in [0, 1), got \(decay)")
        self.decay = decay
        shadows = Dictionary(uniqueKeysWithValues: parameters.map { ($0.key, $0.tensor.converted(to: .float32)) })
    }

    /// The decay used after optimizer step `step`.
    public func decay(afterStep step: Int) -> Float { Swift.min(decay, Float(1 + step) / Float(10 + step)) }

    /// Moves every average towards its parameter after optimizer step `step`.
    public func update(parameters: [(key: String, tensor: Tensor)], step: Int) {
        let d = decay(afterStep: step)
        for (key, parameter) in parameters {
            guard let shadow = shadows[key] else { preconditionFailure("EMA has no average for \(key)") }
            let source = parameter.contiguous()
            withExtendedLifetime(source) {
                let (e, p) = (shadow.basePointer, source.basePointer)
                for i in 0..<shadow.count { e[i] = d * e[i] + (1 - d) * p[i] }
            }
        }
    }

    /// Replaces the averages with `values` (copied); every key must be present with its shape.
    /// - Throws: ``DemoModelError/badCheckpoint(path:reason:)`` naming a missing or mis-shaped average.
    public func load(_ values: [String: Tensor], source: String) throws(DemoModelError) {
        var loaded: [String: Tensor] = [:]
        for (key, shadow) in shadows {
            guard let value = values[key] else { throw .badCheckpoint(path: source, reason: "no EMA average for \(key)") }
            guard value.shape == shadow.shape else {
                throw .badCheckpoint(path: source, reason: "EMA average \(key) has shape \(value.shape), expected \(shadow.shape)")
            }
            loaded[key] = value.converted(to: .float32)
        }
        shadows = loaded
    }
}
