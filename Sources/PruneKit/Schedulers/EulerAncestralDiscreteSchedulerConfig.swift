/// `scheduler_config.json` of diffusers' `EulerAncestralDiscreteScheduler`; absent keys take the class's
/// defaults. Keys of other classes (e.g. `use_karras_sigmas` in SDXL-Turbo's file) are ignored, as diffusers does.
public struct EulerAncestralDiscreteSchedulerConfig: BetaScheduleConfig, Codable, Equatable {
    public var numTrainTimesteps: Int
    public var betaStart: Double
    public var betaEnd: Double
    public var betaSchedule: String
    public var trainedBetas: [Double]?
    /// `epsilon` or `v_prediction` (diffusers does not implement `sample` here).
    public var predictionType: String
    /// `leading`, `trailing` or `linspace`.
    public var timestepSpacing: String
    public var stepsOffset: Int
    public var rescaleBetasZeroSnr: Bool

    /// A configuration with diffusers' defaults for every parameter not given.
    public init(
        numTrainTimesteps: Int = 1000,
        betaStart: Double = 0.0001,
        betaEnd: Double = 0.02,
        betaSchedule: String = "linear",
        trainedBetas: [Double]? = nil,
        predictionType: String = "epsilon",
        timestepSpacing: String = "linspace",
        stepsOffset: Int = 0,
        rescaleBetasZeroSnr: Bool = false
    ) {
        self.numTrainTimesteps = numTrainTimesteps
        self.betaStart = betaStart
        self.betaEnd = betaEnd
        self.betaSchedule = betaSchedule
        self.trainedBetas = trainedBetas
        self.predictionType = predictionType
        self.timestepSpacing = timestepSpacing
        self.stepsOffset = stepsOffset
        self.rescaleBetasZeroSnr = rescaleBetasZeroSnr
    }

    enum CodingKeys: String, CodingKey {
        case numTrainTimesteps = "num_train_timesteps", betaStart = "beta_start", betaEnd = "beta_end"
        case betaSchedule = "beta_schedule", trainedBetas = "trained_betas", predictionType = "prediction_type"
        case timestepSpacing = "timestep_spacing", stepsOffset = "steps_offset"
        case rescaleBetasZeroSnr = "rescale_betas_zero_snr"
    }
}

extension EulerAncestralDiscreteSchedulerConfig {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Self()
        numTrainTimesteps = try c.value(.numTrainTimesteps, default: d.numTrainTimesteps)
        betaStart = try c.value(.betaStart, default: d.betaStart)
        betaEnd = try c.value(.betaEnd, default: d.betaEnd)
        betaSchedule = try c.value(.betaSchedule, default: d.betaSchedule)
        trainedBetas = try c.decodeIfPresent([Double].self, forKey: .trainedBetas)
        predictionType = try c.value(.predictionType, default: d.predictionType)
        timestepSpacing = try c.value(.timestepSpacing, default: d.timestepSpacing)
        stepsOffset = try c.value(.stepsOffset, default: d.stepsOffset)
        rescaleBetasZeroSnr = try c.value(.rescaleBetasZeroSnr, default: d.rescaleBetasZeroSnr)
    }
}
