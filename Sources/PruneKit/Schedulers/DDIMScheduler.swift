import PruneTensor

/// diffusers' `DDIMScheduler` with `eta = 0` (deterministic DDIM; Hyper-SD SDXL LoRAs use it with `trailing`).
///
/// Timesteps are integers (by ``TimestepSpacing``; `linspace` rounds half to even). At `t` with
/// `t' = t − T // n` (`ᾱ_{t'}` = `final_alpha_cumprod` when `t' < 0`):
/// `x̂₀ = (x − √(1−ᾱ_t)·ε̂)/√ᾱ_t` (epsilon; see ``PredictionType`` for the others, clamped when `clip_sample`),
/// `x ← √ᾱ_{t'}·x̂₀ + √(1−ᾱ_{t'})·ε̂`. No input scaling; `init_noise_sigma = 1`; no noise.
public struct DDIMScheduler: Scheduler {
    public static let diffusersClassName = "DDIMScheduler"

    public let config: DDIMSchedulerConfig
    /// The training noise table.
    public let table: DiscreteNoiseTable
    public let predictionType: PredictionType
    public let timestepSpacing: TimestepSpacing
    /// ᾱ after the last step: 1 when `set_alpha_to_one`, else ᾱ_0.
    public let finalAlphaCumprod: Float
    public private(set) var timesteps: [Float] = []
    /// The integer timesteps (what diffusers stores, as int64).
    public private(set) var integerTimesteps: [Int] = []
    /// The `n` passed to ``setTimesteps(_:mu:)``; the step between timesteps is `T // n`.
    public private(set) var numInferenceSteps = 0

    public init(config: DDIMSchedulerConfig) throws(SchedulerError) {
        self.config = config
        table = try DiscreteNoiseTable(config: config)
        predictionType = try ConfigOption.parse(config.predictionType, key: "prediction_type", as: PredictionType.self)
        timestepSpacing = try ConfigOption.parse(config.timestepSpacing, key: "timestep_spacing", as: TimestepSpacing.self)
        try ConfigOption.require(config.thresholding, key: "thresholding", equals: false)
        finalAlphaCumprod = config.setAlphaToOne ? 1 : table.alphasCumprod[0]
    }

    public var sigmas: [Float]? { nil }
    public var initNoiseSigma: Float { 1 }

    public mutating func setTimesteps(_ steps: Int, mu: Double? = nil) throws(SchedulerError) {
        try Self.checkStepCount(steps)
        guard steps <= config.numTrainTimesteps else {
            throw .invalidStepCount(steps, reason: "more than num_train_timesteps = \(config.numTrainTimesteps)")
        }
        let placed = DiscreteTimesteps.make(
            spacing: timestepSpacing, steps: steps, trainSteps: config.numTrainTimesteps,
            stepsOffset: config.stepsOffset, roundLinspace: true)
        integerTimesteps = placed.map { Int($0) }
        guard integerTimesteps.allSatisfy({ table.alphasCumprod.indices.contains($0) }) else {
            throw .invalidStepCount(
                steps, reason: "the timesteps \(integerTimesteps) leave 0..<\(config.numTrainTimesteps)"
                    + " (timestep_spacing \(timestepSpacing.rawValue), steps_offset \(config.stepsOffset))")
        }
        timesteps = integerTimesteps.map { Float($0) }
        numInferenceSteps = steps
    }

    /// The identity (DDIM does not scale its input).
    public func scaleModelInput(_ sample: Tensor, stepIndex: Int) -> Tensor { sample }

    public func needsNoise(atStep stepIndex: Int) -> Bool { false }

    /// `(ᾱ_t, ᾱ_{t'})` of step `stepIndex`.
    public func alphas(atStep stepIndex: Int) -> (current: Float, previous: Float) {
        checkStepIndex(stepIndex)
        let t = integerTimesteps[stepIndex]
        let previous = t - config.numTrainTimesteps / numInferenceSteps
        return (table.alphasCumprod[t], previous >= 0 ? table.alphasCumprod[previous] : finalAlphaCumprod)
    }

    public func stepOutput(modelOutput: Tensor, stepIndex: Int, sample: Tensor, noise: Tensor? = nil) -> SchedulerStepOutput {
        let (alpha, alphaPrevious) = alphas(atStep: stepIndex)
        let beta = 1 - alpha
        var original: Tensor
        let epsilon: Tensor
        switch predictionType {
        case .epsilon:
            original = (sample - modelOutput * beta.squareRoot()) / alpha.squareRoot()
            epsilon = modelOutput
        case .sample:
            original = modelOutput
            epsilon = (sample - original * alpha.squareRoot()) / beta.squareRoot()
        case .vPrediction:
            original = sample * alpha.squareRoot() - modelOutput * beta.squareRoot()
            epsilon = modelOutput * alpha.squareRoot() + sample * beta.squareRoot()
        }
        if config.clipSample {
            let range = Float(config.clipSampleRange)
            original = original.clamped(to: -range...range)
        }
        // std_dev_t = eta·√variance = 0, so the direction coefficient is √(1 − ᾱ_{t'} − 0).
        let direction = epsilon * (1 - alphaPrevious).squareRoot()
        let prev = original * alphaPrevious.squareRoot() + direction
        return SchedulerStepOutput(prevSample: prev, predictedOriginalSample: original)
    }
}
