/// `scheduler_config.json` of diffusers' `DDIMScheduler`; absent keys take the class's defaults
/// (note `clip_sample` and `set_alpha_to_one` default to true there; the SDXL file sets both false).
public struct DDIMSchedulerConfig: BetaScheduleConfig, Codable, Equatable {
    public var numTrainTimesteps: Int
    public var betaStart: Double
    public var betaEnd: Double
    public var betaSchedule: String
    public var trainedBetas: [Double]?
    /// Clamp `x̂₀` to `±clip_sample_range`.
    public var clipSample: Bool
    /// ᾱ used after the last step: 1, or ᾱ_0 when false.
    public var setAlphaToOne: Bool
    public var stepsOffset: Int
    /// `epsilon`, `sample` or `v_prediction`.
    public var predictionType: String
    /// Must be false (dynamic thresholding is not supported; the two keys below are then unused).
    public var thresholding: Bool
    public var dynamicThresholdingRatio: Double
    public var clipSampleRange: Double
    public var sampleMaxValue: Double
    /// `leading`, `trailing` or `linspace`.
    public var timestepSpacing: String
    public var rescaleBetasZeroSnr: Bool

    /// A configuration with diffusers' defaults for every parameter not given.
    public init(
        numTrainTimesteps: Int = 1000,
        betaStart: Double = 0.0001,
        betaEnd: Double = 0.02,
        betaSchedule: String = "linear",
        trainedBetas: [Double]? = nil,
        clipSample: Bool = true,
        setAlphaToOne: Bool = true,
        stepsOffset: Int = 0,
        predictionType: String = "epsilon",
        thresholding: Bool = false,
        dynamicThresholdingRatio: Double = 0.995,
        clipSampleRange: Double = 1.0,
        sampleMaxValue: Double = 1.0,
        timestepSpacing: String = "leading",
        rescaleBetasZeroSnr: Bool = false
    ) {
        self.numTrainTimesteps = numTrainTimesteps
        self.betaStart = betaStart
        self.betaEnd = betaEnd
        self.betaSchedule = betaSchedule
        self.trainedBetas = trainedBetas
        self.clipSample = clipSample
        self.setAlphaToOne = setAlphaToOne
        self.stepsOffset = stepsOffset
        self.predictionType = predictionType
        self.thresholding = thresholding
        self.dynamicThresholdingRatio = dynamicThresholdingRatio
        self.clipSampleRange = clipSampleRange
        self.sampleMaxValue = sampleMaxValue
        self.timestepSpacing = timestepSpacing
        self.rescaleBetasZeroSnr = rescaleBetasZeroSnr
    }

    enum CodingKeys: String, CodingKey {
        case numTrainTimesteps = "num_train_timesteps", betaStart = "beta_start", betaEnd = "beta_end"
        case betaSchedule = "beta_schedule", trainedBetas = "trained_betas", clipSample = "clip_sample"
        case setAlphaToOne = "set_alpha_to_one", stepsOffset = "steps_offset", predictionType = "prediction_type"
        case thresholding, dynamicThresholdingRatio = "dynamic_thresholding_ratio"
        case clipSampleRange = "clip_sample_range", sampleMaxValue = "sample_max_value"
        case timestepSpacing = "timestep_spacing", rescaleBetasZeroSnr = "rescale_betas_zero_snr"
    }
}

extension DDIMSchedulerConfig {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Self()
        numTrainTimesteps = try c.value(.numTrainTimesteps, default: d.numTrainTimesteps)
        betaStart = try c.value(.betaStart, default: d.betaStart)
        betaEnd = try c.value(.betaEnd, default: d.betaEnd)
        betaSchedule = try c.value(.betaSchedule, default: d.betaSchedule)
        trainedBetas = try c.decodeIfPresent([Double].self, forKey: .trainedBetas)
        clipSample = try c.value(.clipSample, default: d.clipSample)
        setAlphaToOne = try c.value(.setAlphaToOne, default: d.setAlphaToOne)
        stepsOffset = try c.value(.stepsOffset, default: d.stepsOffset)
        predictionType = try c.value(.predictionType, default: d.predictionType)
        thresholding = try c.value(.thresholding, default: d.thresholding)
        dynamicThresholdingRatio = try c.value(.dynamicThresholdingRatio, default: d.dynamicThresholdingRatio)
        clipSampleRange = try c.value(.clipSampleRange, default: d.clipSampleRange)
        sampleMaxValue = try c.value(.sampleMaxValue, default: d.sampleMaxValue)
        timestepSpacing = try c.value(.timestepSpacing, default: d.timestepSpacing)
        rescaleBetasZeroSnr = try c.value(.rescaleBetasZeroSnr, default: d.rescaleBetasZeroSnr)
    }
}
