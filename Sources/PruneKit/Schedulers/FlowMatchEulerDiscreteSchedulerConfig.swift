/// `scheduler_config.json` of diffusers' `FlowMatchEulerDiscreteScheduler`; absent (or `null`) keys take the
/// class's defaults.
public struct FlowMatchEulerDiscreteSchedulerConfig: Codable, Sendable, Equatable {
    public var numTrainTimesteps: Int
    /// The static shift `σ ← s·σ/(1 + (s−1)·σ)` (used when dynamic shifting is off).
    public var shift: Double
    /// Shift by `mu` passed to `setTimesteps` instead (FLUX.1-dev).
    public var useDynamicShifting: Bool
    /// The pipeline's `calculate_shift` endpoints: `mu` goes linearly from `base_shift` at
    /// `base_image_seq_len` tokens to `max_shift` at `max_image_seq_len` tokens.
    public var baseShift: Double
    public var maxShift: Double
    public var baseImageSeqLen: Int
    public var maxImageSeqLen: Int
    /// Must be false.
    public var invertSigmas: Bool
    /// Must be `null`.
    public var shiftTerminal: Double?
    /// Must be false (as must the two options below).
    public var useKarrasSigmas: Bool
    public var useExponentialSigmas: Bool
    public var useBetaSigmas: Bool
    /// `exponential` (`e^μ/(e^μ + (1/σ − 1))`) or `linear` (`μ/(μ + (1/σ − 1))`).
    public var timeShiftType: String
    /// Must be false.
    public var stochasticSampling: Bool

    /// A configuration with diffusers' defaults for every parameter not given.
    public init(
        numTrainTimesteps: Int = 1000,
        shift: Double = 1.0,
        useDynamicShifting: Bool = false,
        baseShift: Double = 0.5,
        maxShift: Double = 1.15,
        baseImageSeqLen: Int = 256,
        maxImageSeqLen: Int = 4096,
        invertSigmas: Bool = false,
        shiftTerminal: Double? = nil,
        useKarrasSigmas: Bool = false,
        useExponentialSigmas: Bool = false,
        useBetaSigmas: Bool = false,
        timeShiftType: String = "exponential",
        stochasticSampling: Bool = false
    ) {
        self.numTrainTimesteps = numTrainTimesteps
        self.shift = shift
        self.useDynamicShifting = useDynamicShifting
        self.baseShift = baseShift
        self.maxShift = maxShift
        self.baseImageSeqLen = baseImageSeqLen
        self.maxImageSeqLen = maxImageSeqLen
        self.invertSigmas = invertSigmas
        self.shiftTerminal = shiftTerminal
        self.useKarrasSigmas = useKarrasSigmas
        self.useExponentialSigmas = useExponentialSigmas
        self.useBetaSigmas = useBetaSigmas
        self.timeShiftType = timeShiftType
        self.stochasticSampling = stochasticSampling
    }

    enum CodingKeys: String, CodingKey {
        case numTrainTimesteps = "num_train_timesteps", shift, useDynamicShifting = "use_dynamic_shifting"
        case baseShift = "base_shift", maxShift = "max_shift", baseImageSeqLen = "base_image_seq_len"
        case maxImageSeqLen = "max_image_seq_len", invertSigmas = "invert_sigmas", shiftTerminal = "shift_terminal"
        case useKarrasSigmas = "use_karras_sigmas", useExponentialSigmas = "use_exponential_sigmas"
        case useBetaSigmas = "use_beta_sigmas", timeShiftType = "time_shift_type"
        case stochasticSampling = "stochastic_sampling"
    }
}

extension FlowMatchEulerDiscreteSchedulerConfig {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Self()
        numTrainTimesteps = try c.value(.numTrainTimesteps, default: d.numTrainTimesteps)
        shift = try c.value(.shift, default: d.shift)
        useDynamicShifting = try c.value(.useDynamicShifting, default: d.useDynamicShifting)
        baseShift = try c.value(.baseShift, default: d.baseShift)
        maxShift = try c.value(.maxShift, default: d.maxShift)
        baseImageSeqLen = try c.value(.baseImageSeqLen, default: d.baseImageSeqLen)
        maxImageSeqLen = try c.value(.maxImageSeqLen, default: d.maxImageSeqLen)
        invertSigmas = try c.value(.invertSigmas, default: d.invertSigmas)
        shiftTerminal = try c.decodeIfPresent(Double.self, forKey: .shiftTerminal)
        useKarrasSigmas = try c.value(.useKarrasSigmas, default: d.useKarrasSigmas)
        useExponentialSigmas = try c.value(.useExponentialSigmas, default: d.useExponentialSigmas)
        useBetaSigmas = try c.value(.useBetaSigmas, default: d.useBetaSigmas)
        timeShiftType = try c.value(.timeShiftType, default: d.timeShiftType)
        stochasticSampling = try c.value(.stochasticSampling, default: d.stochasticSampling)
    }
}
