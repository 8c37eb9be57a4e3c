import PruneTensor

/// diffusers' `LCMScheduler` (latent consistency models, LCM-LoRA, Hyper-SD 1-step): each step maps the
/// sample to the consistency function's clean estimate, then re-noises it to the next timestep.
///
/// Timesteps: `k = T // original_inference_steps`; the origin schedule `k·[1…N] − 1` reversed, indexed at
/// `floor(linspace(0, N, n, endpoint: false))` (n = 4 → 999, 759, 499, 259).
/// Step at `t` with next timestep `t'` (`t' = t` at the last step), all scalars float32:
/// `x̂₀` from the prediction type (epsilon: `(x − √(1−ᾱ_t)·ε̂)/√ᾱ_t`), `denoised = c_out(t)·x̂₀ + c_skip(t)·x`
/// with `c_skip = 0.25/((s·t)² + 0.25)`, `c_out = s·t/√((s·t)² + 0.25)` (`s = timestep_scaling`), then
/// `x ← √ᾱ_{t'}·denoised + √(1−ᾱ_{t'})·z` with injected noise `z`, except at the last step where `x ← denoised`.
/// No input scaling; `init_noise_sigma = 1`.
public struct LCMScheduler: Scheduler {
    public static let diffusersClassName = "LCMScheduler"
    /// `σ_data` of the consistency-model boundary condition.
    public static let sigmaData: Float = 0.5

    public let config: LCMSchedulerConfig
    /// The training noise table.
    public let table: DiscreteNoiseTable
    public let predictionType: PredictionType
    public private(set) var timesteps: [Float] = []
    /// The integer timesteps (what diffusers stores, as int64).
    public private(set) var integerTimesteps: [Int] = []

    public init(config: LCMSchedulerConfig) throws(SchedulerError) {
        self.config = config
        table = try DiscreteNoiseTable(config: config)
        predictionType = try ConfigOption.parse(config.predictionType, key: "prediction_type", as: PredictionType.self)
        try ConfigOption.require(config.thresholding, key: "thresholding", equals: false)
        try ConfigOption.requirePositive(config.originalInferenceSteps, key: "original_inference_steps")
        guard config.originalInferenceSteps <= config.numTrainTimesteps else {
            throw .invalidOption(
                key: "original_inference_steps", value: "\(config.originalInferenceSteps)",
                reason: "larger than num_train_timesteps = \(config.numTrainTimesteps)")
        }
    }

    public var sigmas: [Float]? { nil }
    public var initNoiseSigma: Float { 1 }

    public mutating func setTimesteps(_ steps: Int, mu: Double? = nil) throws(SchedulerError) {
        try Self.checkStepCount(steps)
        let original = config.originalInferenceSteps
        guard steps <= original else {
            throw .invalidStepCount(steps, reason: "more than original_inference_steps = \(original)")
        }
        let k = config.numTrainTimesteps / original
        let origin = (1...original).map { $0 * k - 1 }.reversed() as [Int]
        let indices = NumPy.linspace(0, Double(origin.count), count: steps, endpoint: false)
            .map { Int($0.rounded(.down)) }
        integerTimesteps = indices.map { origin[$0] }
        timesteps = integerTimesteps.map { Float($0) }
    }

    /// The identity (LCM does not scale its input).
    public func scaleModelInput(_ sample: Tensor, stepIndex: Int) -> Tensor { sample }

    /// True at every step but the last.
    public func needsNoise(atStep stepIndex: Int) -> Bool {
        checkStepIndex(stepIndex)
        return stepIndex != timesteps.count - 1
    }

    /// `(c_skip, c_out)` at `timestep`, in float32 as diffusers computes them.
    public func boundaryConditionScalings(timestep: Int) -> (skip: Float, out: Float) {
        let scaled = Float(timestep) * Float(config.timestepScaling)
        let dataVariance = Self.sigmaData * Self.sigmaData
        let skip = dataVariance / (scaled * scaled + dataVariance)
        let out = scaled / (scaled * scaled + dataVariance).squareRoot()
        return (skip, out)
    }

    public func stepOutput(modelOutput: Tensor, stepIndex: Int, sample: Tensor, noise: Tensor?) -> SchedulerStepOutput {
        checkStepIndex(stepIndex)
        let t = integerTimesteps[stepIndex]
        let isLast = stepIndex == timesteps.count - 1
        let next = isLast ? t : integerTimesteps[stepIndex + 1]
        let alpha = table.alphasCumprod[t]
        let alphaNext = next >= 0 ? table.alphasCumprod[next] : (config.setAlphaToOne ? 1 : table.alphasCumprod[0])
        let beta = 1 - alpha
        let (skip, out) = boundaryConditionScalings(timestep: t)

        var original: Tensor
        switch predictionType {
        case .epsilon: original = (sample - modelOutput * beta.squareRoot()) / alpha.squareRoot()
        case .sample: original = modelOutput
        case .vPrediction: original = sample * alpha.squareRoot() - modelOutput * beta.squareRoot()
        }
        if config.clipSample {
            let range = Float(config.clipSampleRange)
            original = original.clamped(to: -range...range)
        }
        let denoised = original * out + sample * skip
        guard !isLast else { return SchedulerStepOutput(prevSample: denoised, predictedOriginalSample: denoised) }
        let z = requiredNoise(noise, scheduler: Self.diffusersClassName, stepIndex: stepIndex)
        let prev = denoised * alphaNext.squareRoot() + z * (1 - alphaNext).squareRoot()
        return SchedulerStepOutput(prevSample: prev, predictedOriginalSample: denoised)
    }
}
