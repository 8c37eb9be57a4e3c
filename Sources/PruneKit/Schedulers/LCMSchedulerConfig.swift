/// `scheduler_config.json` of diffusers' `LCMScheduler`; absent keys take the class's defaults
/// (already the SDXL betas: scaled_linear 0.00085…0.012).
public struct LCMSchedulerConfig: BetaScheduleConfig, Codable, Equatable {
    public var numTrainTimesteps: Int
    public var betaStart: Double
    public var betaEnd: Double
    public var betaSchedule: String
    public var trainedBetas: [Double]?
    /// The distillation schedule length: timesteps are picked from `k·[1…N] − 1`, `k = T // N`.
    public var originalInferenceSteps: Int
    /// Clamp `x̂₀` to `±clip_sample_range`.
    public var clipSample: Bool
    public var clipSampleRange: Double
    /// ᾱ after the last step: 1, or ᾱ_0 when false (unused by the step itself: LCM never steps past t ≥ 0).
    public var setAlphaToOne: Bool
    /// Unused by LCM's timestep placement (kept for round-tripping).
    public var stepsOffset: Int
    /// `epsilon`, `sample` or `v_prediction`.
    public var predictionType: String
    /// Must be false (dynamic thresholding is not supported).
    public var thresholding: Bool
    public var dynamicThresholdingRatio: Double
    public var sampleMaxValue: Double
    /// Unused by LCM's timestep placement (kept for round-tripping).
    public var timestepSpacing: String
    /// `s` in the boundary-condition scalings `c_skip(t) = σ_d²/((s·t)² + σ_d²)`, `c_out(t) = s·t/√((s·t)² + σ_d²)`.
    public var timestepScaling: Double
    public var rescaleBetasZeroSnr: Bool

    /// A configuration with diffusers' defaults for every parameter not given.
    public init(
        numTrainTimesteps: Int = 1000,
        betaStart: Double = 0.00085,
        betaEnd: Double = 0.012,
        betaSchedule: String = "scaled_linear",
        trainedBetas: [Double]? = nil,
        originalInferenceSteps: Int = 50,
        clipSample: Bool = false,
        clipSampleRange: Double = 1.0,
        setAlphaToOne: Bool = true,
        stepsOffset: Int = 0,
        predictionType: String = "epsilon",
        thresholding: Bool = false,
        dynamicThresholdingRatio: Double = 0.995,
        sampleMaxValue: Double = 1.0,
        timestepSpacing: String = "leading",
        timestepScaling: Double = 10.0,
        rescaleBetasZeroSnr: Bool = false
    ) {
        self.numTrainTimesteps = numTrainTimesteps
        self.betaStart = betaStart
        self.betaEnd = betaEnd
        self.betaSchedule = betaSchedule
        self.trainedBetas = trainedBetas
        self.originalInferenceSteps = originalInferenceSteps
        self.clipSample = clipSample
        self.clipSampleRange = clipSampleRange
        self.setAlphaToOne = setAlphaToOne
        self.stepsOffset = stepsOffset
        self.predictionType = predictionType
        self.thresholding = thresholding
        self.dynamicThresholdingRatio = dynamicThresholdingRatio
        self.sampleMaxValue = sampleMaxValue
        self.timestepSpacing = timestepSpacing
        self.timestepScaling = timestepScaling
        self.rescaleBetasZeroSnr = rescaleBetasZeroSnr
    }

    enum CodingKeys: String, CodingKey {
        case numTrainTimesteps = "num_train_timesteps", betaStart = "beta_start", betaEnd = "beta_end"
        case betaSchedule = "beta_schedule", trainedBetas = "trained_betas"
        case originalInferenceSteps = "original_inference_steps", clipSample = "clip_sample"
        case clipSampleRange = "clip_sample_range", setAlphaToOne = "set_alpha_to_one", stepsOffset = "steps_offset"
        case predictionType = "prediction_type", thresholding
        case dynamicThresholdingRatio = "dynamic_thresholding_ratio", sampleMaxValue = "sample_max_value"
        case timestepSpacing = "timestep_spacing", timestepScaling = "timestep_scaling"
        case rescaleBetasZeroSnr = "rescale_betas_zero_snr"
    }
}

extension LCMSchedulerConfig {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Self()
        numTrainTimesteps = try c.value(.numTrainTimesteps, default: d.numTrainTimesteps)
        betaStart = try c.value(.betaStart, default: d.betaStart)
        betaEnd = try c.value(.betaEnd, default: d.betaEnd)
        betaSchedule = try c.value(.betaSchedule, default: d.betaSchedule)
        trainedBetas = try c.decodeIfPresent([Double].self, forKey: .trainedBetas)
        originalInferenceSteps = try c.value(.originalInferenceSteps, default: d.originalInferenceSteps)
        clipSample = try c.value(.clipSample, default: d.clipSample)
        clipSampleRange = try c.value(.clipSampleRange, default: d.clipSampleRange)
        setAlphaToOne = try c.value(.setAlphaToOne, default: d.setAlphaToOne)
        stepsOffset = try c.value(.stepsOffset, default: d.stepsOffset)
        predictionType = try c.value(.predictionType, default: d.predictionType)
        thresholding = try c.value(.thresholding, default: d.thresholding)
        dynamicThresholdingRatio = try c.value(.dynamicThresholdingRatio, default: d.dynamicThresholdingRatio)
        sampleMaxValue = try c.value(.sampleMaxValue, default: d.sampleMaxValue)
        timestepSpacing = try c.value(.timestepSpacing, default: d.timestepSpacing)
        timestepScaling = try c.value(.timestepScaling, default: d.timestepScaling)
        rescaleBetasZeroSnr = try c.value(.rescaleBetasZeroSnr, default: d.rescaleBetasZeroSnr)
    }
}
