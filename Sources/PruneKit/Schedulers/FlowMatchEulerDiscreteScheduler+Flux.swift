/// The FLUX pipeline's schedule construction (`pipeline_flux.py`): `sigmas = linspace(1, 1/n, n)` and
/// `mu = calculate_shift(image_seq_len, …)` from the scheduler config, passed to `set_timesteps`.
extension FlowMatchEulerDiscreteScheduler {
    /// `calculate_shift`: `mu` linear in the packed image sequence length, from `baseShift` at
    /// `baseSequenceLength` tokens to `maxShift` at `maxSequenceLength` (float64, as Python).
    /// FLUX at 1024² has 4096 tokens → 1.15; 512² has 1024 → 0.63.
    public static func calculateShift(
        imageSequenceLength: Int, baseSequenceLength: Int = 256, maxSequenceLength: Int = 4096,
        baseShift: Double = 0.5, maxShift: Double = 1.15
    ) -> Double {
        let slope = (maxShift - baseShift) / Double(maxSequenceLength - baseSequenceLength)
        let intercept = baseShift - slope * Double(baseSequenceLength)
        return Double(imageSequenceLength) * slope + intercept
    }

    /// The pipeline's raw sigmas `np.linspace(1.0, 1/n, n)` (float64). Shape: `[steps]`.
    public static func pipelineSigmas(steps: Int) -> [Double] {
        NumPy.linspace(1.0, 1 / Double(steps), count: steps)
    }

    /// The packed-latent token count of a `height × width` image: `(H/16)·(W/16)` for FLUX's 8× VAE and 2×2
    /// patches (`2·(H // (vaeScaleFactor·2))` latent rows, halved by packing).
    public static func imageSequenceLength(height: Int, width: Int, vaeScaleFactor: Int = 8) -> Int {
        let latentHeight = 2 * (height / (vaeScaleFactor * 2))
        let latentWidth = 2 * (width / (vaeScaleFactor * 2))
        return (latentHeight / 2) * (latentWidth / 2)
    }

    /// `calculate_shift` with this scheduler's `base_image_seq_len`, `max_image_seq_len`, `base_shift` and
    /// `max_shift`.
    public func mu(imageSequenceLength: Int) -> Double {
        Self.calculateShift(
            imageSequenceLength: imageSequenceLength, baseSequenceLength: config.baseImageSeqLen,
            maxSequenceLength: config.maxImageSeqLen, baseShift: config.baseShift, maxShift: config.maxShift)
    }

    /// Sets timesteps exactly as `FluxPipeline.__call__` does for `steps` steps and `imageSequenceLength`
    /// packed tokens: `set_timesteps(sigmas=linspace(1, 1/n, n), mu=calculate_shift(…))` (`mu` only matters
    /// with dynamic shifting, i.e. FLUX.1-dev; schnell's σ stay `linspace(1, 1/n, n)`).
    public mutating func setPipelineTimesteps(_ steps: Int, imageSequenceLength: Int) throws(SchedulerError) {
        try Self.checkStepCount(steps)
        try setTimesteps(sigmas: Self.pipelineSigmas(steps: steps), mu: mu(imageSequenceLength: imageSequenceLength))
    }

    /// The `timestep` input the FLUX transformer receives at step `stepIndex`: `t_i / 1000` in float32
    /// (the pipeline divides the scheduler's timestep, so this can differ from `σ_i` in the last bit).
    public func transformerTimestep(at stepIndex: Int) -> Float {
        checkStepIndex(stepIndex)
        return timesteps[stepIndex] / 1000
    }
}
