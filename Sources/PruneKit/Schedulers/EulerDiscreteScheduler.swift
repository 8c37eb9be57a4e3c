import PruneTensor

/// diffusers' `EulerDiscreteScheduler` (SDXL base, SDXL-Lightning): the Euler method on the VE ODE
/// `dx/dσ = (x − x̂₀)/σ` over the DDPM table's sigmas (`s_churn = 0`, linear interpolation, no Karras sigmas).
///
/// Schedule: timesteps by ``TimestepSpacing``; `σ_i = interp(t_i, 0…T−1, σ_train)` in float64, then float32,
/// with `0` (or `σ_train[0]` for `final_sigmas_type = sigma_min`) appended.
/// Step: `x̂₀` from the prediction type, then `x ← x + (x − x̂₀)/σ_i · (σ_{i+1} − σ_i)`;
/// for ε-prediction this is `x + (σ_{i+1} − σ_i)·ε`.
public struct EulerDiscreteScheduler: Scheduler {
    public static let diffusersClassName = "EulerDiscreteScheduler"

    public let config: EulerDiscreteSchedulerConfig
    /// The training noise table.
    public let table: DiscreteNoiseTable
    public let predictionType: PredictionType
    public let timestepSpacing: TimestepSpacing
    public private(set) var timesteps: [Float] = []
    /// `σ_0 … σ_{n−1}` and the final sigma. Shape: `[timesteps.count + 1]`.
    public private(set) var schedule: [Float] = []

    public init(config: EulerDiscreteSchedulerConfig) throws(SchedulerError) {
        self.config = config
        table = try DiscreteNoiseTable(config: config)
        let prediction = config.predictionType == "original_sample" ? "sample" : config.predictionType
        predictionType = try ConfigOption.parse(prediction, key: "prediction_type", as: PredictionType.self)
        timestepSpacing = try ConfigOption.parse(config.timestepSpacing, key: "timestep_spacing", as: TimestepSpacing.self)
        try ConfigOption.require(config.interpolationType, key: "interpolation_type", in: ["linear"])
        try ConfigOption.require(config.useKarrasSigmas, key: "use_karras_sigmas", equals: false)
        try ConfigOption.require(config.useExponentialSigmas, key: "use_exponential_sigmas", equals: false)
        try ConfigOption.require(config.useBetaSigmas, key: "use_beta_sigmas", equals: false)
        try ConfigOption.require(config.timestepType, key: "timestep_type", in: ["discrete"])
        try ConfigOption.require(config.finalSigmasType, key: "final_sigmas_type", in: ["zero", "sigma_min"])
    }

    public var sigmas: [Float]? { schedule }

    /// `max σ` for `linspace`/`trailing` spacing, `√(max σ² + 1)` for `leading` (float32). Before timesteps
    /// are set, the training table's.
    public var initNoiseSigma: Float {
        let maxSigma = (schedule.isEmpty ? table.sigmas : schedule).max() ?? 0
        return Self.initNoiseSigma(maxSigma: maxSigma, spacing: timestepSpacing)
    }

    public mutating func setTimesteps(_ steps: Int, mu: Double? = nil) throws(SchedulerError) {
        try Self.checkStepCount(steps)
        let placed = DiscreteTimesteps.make(
            spacing: timestepSpacing, steps: steps, trainSteps: config.numTrainTimesteps,
            stepsOffset: config.stepsOffset, roundLinspace: false)
        timesteps = placed.map { Float($0) }
        schedule = Self.interpolatedSchedule(
            timesteps: timesteps, table: table,
            finalSigma: config.finalSigmasType == "sigma_min" ? Double(table.sigmas[0]) : 0)
    }

    /// `sample / √(σ_i² + 1)`. Shape: that of `sample`.
    public func scaleModelInput(_ sample: Tensor, stepIndex: Int) -> Tensor {
        checkStepIndex(stepIndex)
        return Self.scaleModelInput(sample, sigma: schedule[stepIndex])
    }

    public func needsNoise(atStep stepIndex: Int) -> Bool { false }

    public func stepOutput(modelOutput: Tensor, stepIndex: Int, sample: Tensor, noise: Tensor? = nil) -> SchedulerStepOutput {
        checkStepIndex(stepIndex)
        let sigma = schedule[stepIndex]
        let original = Self.predictedOriginal(modelOutput: modelOutput, sample: sample, sigma: sigma, type: predictionType)
        let derivative = (sample - original) / sigma
        let prev = sample + derivative * (schedule[stepIndex + 1] - sigma)
        return SchedulerStepOutput(prevSample: prev, predictedOriginalSample: original)
    }
}

// Pieces shared with the ancestral variant.
extension EulerDiscreteScheduler {
    /// `σ_i = float32(interp(t_i, 0…T−1, σ_train))` with `finalSigma` appended (float64 interpolation, as
    /// NumPy). Shape: `[timesteps.count + 1]`.
    static func interpolatedSchedule(timesteps: [Float], table: DiscreteNoiseTable, finalSigma: Double) -> [Float] {
        let interpolated = DiscreteTimesteps.interpolatedSigmas(at: timesteps.map(Double.init), table: table.sigmas)
        return (interpolated + [finalSigma]).map { Float($0) }
    }

    static func initNoiseSigma(maxSigma: Float, spacing: TimestepSpacing) -> Float {
        switch spacing {
        case .linspace, .trailing: maxSigma
        case .leading: (maxSigma * maxSigma + 1).squareRoot()
        }
    }

    static func scaleModelInput(_ sample: Tensor, sigma: Float) -> Tensor {
        sample / (sigma * sigma + 1).squareRoot()
    }

    /// `x̂₀`: `x − σ·ε` (epsilon), the output itself (sample), `v·(−σ/√(σ²+1)) + x/(σ²+1)` (v-prediction).
    static func predictedOriginal(modelOutput: Tensor, sample: Tensor, sigma: Float, type: PredictionType) -> Tensor {
        switch type {
        case .epsilon:
            return sample - modelOutput * sigma
        case .sample:
            return modelOutput
        case .vPrediction:
            let variance = sigma * sigma + 1
            return modelOutput * (-sigma / variance.squareRoot()) + sample / variance
        }
    }
}
