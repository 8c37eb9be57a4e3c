import PruneTensor

/// diffusers' `EulerAncestralDiscreteScheduler` (SDXL-Turbo): Euler to `σ_down`, then fresh noise of scale `σ_up`.
///
/// Same timesteps, sigmas, `init_noise_sigma` and input scaling as ``EulerDiscreteScheduler`` (linear
/// interpolation, final sigma 0). Step from `σ = σ_i` to `σ' = σ_{i+1}` (float32 scalars):
/// `σ_up = √(σ'²(σ² − σ'²)/σ²)`, `σ_down = √(σ'² − σ_up²)`,
/// `x ← x + (x − x̂₀)/σ · (σ_down − σ) + z·σ_up` with the injected standard-normal `z`.
/// At the last step `σ' = 0`, so `σ_up = 0` and the step is deterministic (no noise needed).
public struct EulerAncestralDiscreteScheduler: Scheduler {
    public static let diffusersClassName = "EulerAncestralDiscreteScheduler"

    public let config: EulerAncestralDiscreteSchedulerConfig
    /// The training noise table.
    public let table: DiscreteNoiseTable
    public let predictionType: PredictionType
    public let timestepSpacing: TimestepSpacing
    public private(set) var timesteps: [Float] = []
    /// `σ_0 … σ_{n−1}` and the final 0. Shape: `[timesteps.count + 1]`.
    public private(set) var schedule: [Float] = []

    public init(config: EulerAncestralDiscreteSchedulerConfig) throws(SchedulerError) {
        self.config = config
        table = try DiscreteNoiseTable(config: config)
        predictionType = try ConfigOption.parse(
            config.predictionType, key: "prediction_type", as: PredictionType.self,
            supported: [.epsilon, .vPrediction])
        timestepSpacing = try ConfigOption.parse(config.timestepSpacing, key: "timestep_spacing", as: TimestepSpacing.self)
    }

    public var sigmas: [Float]? { schedule }

    public var initNoiseSigma: Float {
        let maxSigma = (schedule.isEmpty ? table.sigmas : schedule).max() ?? 0
        return EulerDiscreteScheduler.initNoiseSigma(maxSigma: maxSigma, spacing: timestepSpacing)
    }

    public mutating func setTimesteps(_ steps: Int, mu: Double? = nil) throws(SchedulerError) {
        try Self.checkStepCount(steps)
        let placed = DiscreteTimesteps.make(
            spacing: timestepSpacing, steps: steps, trainSteps: config.numTrainTimesteps,
            stepsOffset: config.stepsOffset, roundLinspace: false)
        timesteps = placed.map { Float($0) }
        schedule = EulerDiscreteScheduler.interpolatedSchedule(timesteps: timesteps, table: table, finalSigma: 0)
    }

    /// `sample / √(σ_i² + 1)`. Shape: that of `sample`.
    public func scaleModelInput(_ sample: Tensor, stepIndex: Int) -> Tensor {
        checkStepIndex(stepIndex)
        return EulerDiscreteScheduler.scaleModelInput(sample, sigma: schedule[stepIndex])
    }

    /// `(σ_up, σ_down)` of step `stepIndex`, in float32 as diffusers computes them.
    public func ancestralSigmas(atStep stepIndex: Int) -> (up: Float, down: Float) {
        checkStepIndex(stepIndex)
        let from = schedule[stepIndex]
        let to = schedule[stepIndex + 1]
        let up = (to * to * (from * from - to * to) / (from * from)).squareRoot()
        let down = (to * to - up * up).squareRoot()
        return (up, down)
    }

    /// True wherever `σ_up > 0`, i.e. every step but the last.
    public func needsNoise(atStep stepIndex: Int) -> Bool { ancestralSigmas(atStep: stepIndex).up != 0 }

    public func stepOutput(modelOutput: Tensor, stepIndex: Int, sample: Tensor, noise: Tensor?) -> SchedulerStepOutput {
        let (up, down) = ancestralSigmas(atStep: stepIndex)
        let sigma = schedule[stepIndex]
        let original = EulerDiscreteScheduler.predictedOriginal(
            modelOutput: modelOutput, sample: sample, sigma: sigma, type: predictionType)
        let derivative = (sample - original) / sigma
        var prev = sample + derivative * (down - sigma)
        if up != 0 {
            let z = requiredNoise(noise, scheduler: Self.diffusersClassName, stepIndex: stepIndex)
            prev = prev + z * up
        }
        return SchedulerStepOutput(prevSample: prev, predictedOriginalSample: original)
    }
}
