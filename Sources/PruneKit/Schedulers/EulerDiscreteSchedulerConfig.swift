/// `scheduler_config.json` of diffusers' `EulerDiscreteScheduler`; absent keys take the class's defaults.
public struct EulerDiscreteSchedulerConfig: BetaScheduleConfig, Codable, Equatable {
    public var numTrainTimesteps: Int
    public var betaStart: Double
    public var betaEnd: Double
    public var betaSchedule: String
    public var trainedBetas: [Double]?
    /// `epsilon`, `v_prediction`, `sample` (or its alias `original_sample`).
    public var predictionType: String
    /// Only `linear` is supported.
    public var interpolationType: String
    /// Must be false (as must the two options below).
    public var useKarrasSigmas: Bool
    public var useExponentialSigmas: Bool
    public var useBetaSigmas: Bool
    /// Used only by the unsupported sigma conversions; ignored.
    public var sigmaMin: Double?
    public var sigmaMax: Double?
    /// `leading`, `trailing` or `linspace`.
    public var timestepSpacing: String
    /// Only `discrete` is supported.
    public var timestepType: String
    public var stepsOffset: Int
    public var rescaleBetasZeroSnr: Bool
    /// `zero` or `sigma_min`: the sigma appended after the last step.
    public var finalSigmasType: String

    /// A configuration with diffusers' defaults for every parameter not given.
    public init(
        numTrainTimesteps: Int = 1000,
        betaStart: Double = 0.0001,
        betaEnd: Double = 0.02,
        betaSchedule: String = "linear",
        trainedBetas: [Double]? = nil,
        predictionType: String = "epsilon",
        interpolationType: String = "linear",
        useKarrasSigmas: Bool = false,
        useExponentialSigmas: Bool = false,
        useBetaSigmas: Bool = false,
        sigmaMin: Double? = nil,
        sigmaMax: Double? = nil,
        timestepSpacing: String = "linspace",
        timestepType: String = "discrete",
        stepsOffset: Int = 0,
        rescaleBetasZeroSnr: Bool = false,
        finalSigmasType: String = "zero"
    ) {
        self.numTrainTimesteps = numTrainTimesteps
        self.betaStart = betaStart
        self.betaEnd = betaEnd
        self.betaSchedule = betaSchedule
        self.trainedBetas = trainedBetas
        self.predictionType = predictionType
        self.interpolationType = interpolationType
        self.useKarrasSigmas = useKarrasSigmas
        self.useExponentialSigmas = useExponentialSigmas
        self.useBetaSigmas = useBetaSigmas
        self.sigmaMin = sigmaMin
        self.sigmaMax = sigmaMax
        self.timestepSpacing = timestepSpacing
        self.timestepType = timestepType
        self.stepsOffset = stepsOffset
        self.rescaleBetasZeroSnr = rescaleBetasZeroSnr
        self.finalSigmasType = finalSigmasType
    }

    enum CodingKeys: String, CodingKey {
        case numTrainTimesteps = "num_train_timesteps", betaStart = "beta_start", betaEnd = "beta_end"
        case betaSchedule = "beta_schedule", trainedBetas = "trained_betas", predictionType = "prediction_type"
        case interpolationType = "interpolation_type", useKarrasSigmas = "use_karras_sigmas"
        case useExponentialSigmas = "use_exponential_sigmas", useBetaSigmas = "use_beta_sigmas"
        case sigmaMin = "sigma_min", sigmaMax = "sigma_max", timestepSpacing = "timestep_spacing"
        case timestepType = "timestep_type", stepsOffset = "steps_offset"
        case rescaleBetasZeroSnr = "rescale_betas_zero_snr", finalSigmasType = "final_sigmas_type"
    }
}

extension EulerDiscreteSchedulerConfig {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Self()
        numTrainTimesteps = try c.value(.numTrainTimesteps, default: d.numTrainTimesteps)
        betaStart = try c.value(.betaStart, default: d.betaStart)
        betaEnd = try c.value(.betaEnd, default: d.betaEnd)
        betaSchedule = try c.value(.betaSchedule, default: d.betaSchedule)
        trainedBetas = try c.decodeIfPresent([Double].self, forKey: .trainedBetas)
        predictionType = try c.value(.predictionType, default: d.predictionType)
        interpolationType = try c.value(.interpolationType, default: d.interpolationType)
        useKarrasSigmas = try c.value(.useKarrasSigmas, default: d.useKarrasSigmas)
        useExponentialSigmas = try c.value(.useExponentialSigmas, default: d.useExponentialSigmas)
        useBetaSigmas = try c.value(.useBetaSigmas, default: d.useBetaSigmas)
        sigmaMin = try c.decodeIfPresent(Double.self, forKey: .sigmaMin)
        sigmaMax = try c.decodeIfPresent(Double.self, forKey: .sigmaMax)
        timestepSpacing = try c.value(.timestepSpacing, default: d.timestepSpacing)
        timestepType = try c.value(.timestepType, default: d.timestepType)
        stepsOffset = try c.value(.stepsOffset, default: d.stepsOffset)
        rescaleBetasZeroSnr = try c.value(.rescaleBetasZeroSnr, default: d.rescaleBetasZeroSnr)
        finalSigmasType = try c.value(.finalSigmasType, default: d.finalSigmasType)
    }
}
