import Foundation
import PruneTensor

/// diffusers' `FlowMatchEulerDiscreteScheduler` (FLUX.1, SD3): Euler on the rectified-flow ODE.
///
/// Convention: `x_σ = (1 − σ)·x₀ + σ·ε`; the model predicts `v = ε − x₀`; the step is
/// `x ← x + (σ_{i+1} − σ_i)·v` (float32), with `σ_n = 0` appended. Timesteps are `σ·T` in float32.
///
/// Two ways to set the schedule, as in diffusers:
/// - ``setTimesteps(_:mu:)``: `t = linspace(σ_max·T, σ_min·T, n)` from the training table, shifted in float64;
/// - ``setTimesteps(sigmas:mu:)``: caller sigmas, cast to float32 first and shifted in float32 (what
///   `FluxPipeline` does with `linspace(1, 1/n, n)`; see ``setPipelineTimesteps(_:imageSequenceLength:)``).
///
/// The shift is static (`shift·σ/(1 + (shift−1)·σ)`) or, with `use_dynamic_shifting`, the time shift by `mu`.
/// No input scaling; diffusers defines no `init_noise_sigma` here (FLUX draws unscaled `N(0, I)` latents),
/// so ``initNoiseSigma`` is 1.
public struct FlowMatchEulerDiscreteScheduler: Scheduler {
    public static let diffusersClassName = "FlowMatchEulerDiscreteScheduler"

    /// How `mu` shifts sigmas when dynamic shifting is on.
    public enum TimeShift: String, Sendable, CaseIterable {
        /// `e^μ / (e^μ + (1/σ − 1))`.
        case exponential
        /// `μ / (μ + (1/σ − 1))`.
        case linear
    }

    public let config: FlowMatchEulerDiscreteSchedulerConfig
    public let timeShift: TimeShift
    /// The largest and smallest sigma of the (statically shifted, when not dynamic) training schedule,
    /// `σ = t/T` for `t = T…1` in float32; the default timesteps run between them.
    public let sigmaMax: Float
    public let sigmaMin: Float
    public private(set) var timesteps: [Float] = []
    /// `σ_0 … σ_{n−1}` and the final 0. Shape: `[timesteps.count + 1]`.
    public private(set) var schedule: [Float] = []

    public init(config: FlowMatchEulerDiscreteSchedulerConfig) throws(SchedulerError) {
        self.config = config
        try ConfigOption.requirePositive(config.numTrainTimesteps, key: "num_train_timesteps")
        timeShift = try ConfigOption.parse(config.timeShiftType, key: "time_shift_type", as: TimeShift.self)
        try ConfigOption.require(config.invertSigmas, key: "invert_sigmas", equals: false)
        if let terminal = config.shiftTerminal {
            throw .unsupportedOption(key: "shift_terminal", value: "\(terminal)", supported: ["null"])
        }
        try ConfigOption.require(config.useKarrasSigmas, key: "use_karras_sigmas", equals: false)
        try ConfigOption.require(config.useExponentialSigmas, key: "use_exponential_sigmas", equals: false)
        try ConfigOption.require(config.useBetaSigmas, key: "use_beta_sigmas", equals: false)
        try ConfigOption.require(config.stochasticSampling, key: "stochastic_sampling", equals: false)
        // The constructor's table: σ = t/T for t = T…1 (float32), statically shifted unless dynamic.
        let count = Float(config.numTrainTimesteps)
        let shift = Float(config.shift)
        let shiftMinusOne = Float(config.shift - 1)
        func trainSigma(_ t: Float) -> Float {
            let sigma = t / count
            return config.useDynamicShifting ? sigma : shift * sigma / (1 + shiftMinusOne * sigma)
        }
        sigmaMax = trainSigma(count)
        sigmaMin = trainSigma(1)
    }

    public var sigmas: [Float]? { schedule }
    public var initNoiseSigma: Float { 1 }

    /// diffusers' `set_timesteps(n, mu=mu)` (no custom sigmas): `n` timesteps evenly spaced from `σ_max·T`
    /// to `σ_min·T`, shifted in float64. `mu` is required with dynamic shifting and ignored otherwise.
    public mutating func setTimesteps(_ steps: Int, mu: Double? = nil) throws(SchedulerError) {
        try Self.checkStepCount(steps)
        let count = Double(config.numTrainTimesteps)
        let raw = NumPy.linspace(Double(sigmaMax) * count, Double(sigmaMin) * count, count: steps).map { $0 / count }
        let shifted: [Double]
        if config.useDynamicShifting {
            guard let mu else { throw .missingMu }
            shifted = raw.map { timeShifted($0, mu: mu) }
        } else {
            shifted = raw.map { config.shift * $0 / (1 + (config.shift - 1) * $0) }
        }
        finish(shifted.map { Float($0) })
    }

    /// diffusers' `set_timesteps(sigmas=sigmas, mu=mu)`: the given sigmas (descending, in (0, 1]) are cast to
    /// float32 and shifted in float32. `mu` is required with dynamic shifting and ignored otherwise.
    public mutating func setTimesteps(sigmas custom: [Double], mu: Double? = nil) throws(SchedulerError) {
        try Self.checkStepCount(custom.count)
        guard custom.allSatisfy({ $0.isFinite }) else { throw .invalidSigmas("non-finite value in \(custom)") }
        let raw = custom.map { Float($0) }
        let shifted: [Float]
        if config.useDynamicShifting {
            guard let mu else { throw .missingMu }
            shifted = raw.map { timeShifted($0, mu: mu) }
        } else {
            let shift = Float(config.shift)
            let shiftMinusOne = Float(config.shift - 1)
            shifted = raw.map { shift * $0 / (1 + shiftMinusOne * $0) }
        }
        finish(shifted)
    }

    /// The identity (flow matching does not scale its input).
    public func scaleModelInput(_ sample: Tensor, stepIndex: Int) -> Tensor { sample }

    public func needsNoise(atStep stepIndex: Int) -> Bool { false }

    /// `x + (σ_{i+1} − σ_i)·v`. Shape: that of `sample`.
    public func stepOutput(modelOutput: Tensor, stepIndex: Int, sample: Tensor, noise: Tensor? = nil) -> SchedulerStepOutput {
        checkStepIndex(stepIndex)
        let dt = schedule[stepIndex + 1] - schedule[stepIndex]
        return SchedulerStepOutput(prevSample: sample + modelOutput * dt, predictedOriginalSample: nil)
    }

    /// Sets float32 sigmas `shifted`, timesteps `σ·T` and the appended 0.
    private mutating func finish(_ shifted: [Float]) {
        let count = Float(config.numTrainTimesteps)
        timesteps = shifted.map { $0 * count }
        schedule = shifted + [0]
    }

    /// The time shift in float64 (`math.exp(mu)` against a float64 array).
    private func timeShifted(_ sigma: Double, mu: Double) -> Double {
        switch timeShift {
        case .exponential: Foundation.exp(mu) / (Foundation.exp(mu) + (1 / sigma - 1))
        case .linear: mu / (mu + (1 / sigma - 1))
        }
    }

    /// The time shift in float32 (NumPy casts the Python float `e^μ` to the float32 array's type).
    private func timeShifted(_ sigma: Float, mu: Double) -> Float {
        let numerator = Float(timeShift == .exponential ? Foundation.exp(mu) : mu)
        return numerator / (numerator + (1 / sigma - 1))
    }
}
