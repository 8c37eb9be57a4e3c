/// The scheduler configurations of the models PruneKit targets, by name (for the adapters and the CLI).
///
/// Each configuration reproduces the model's `scheduler/scheduler_config.json` (or the scheduler its model
/// card prescribes); provenance is noted per case. Keys a class does not read (e.g. SDXL's `skip_prk_steps`)
/// are left out.
public enum SchedulerPreset: String, Sendable, CaseIterable {
    /// `stabilityai/stable-diffusion-xl-base-1.0`, `scheduler/scheduler_config.json`: EulerDiscreteScheduler,
    /// scaled_linear 0.00085…0.012, epsilon, `timestep_spacing` leading, `steps_offset` 1, linear
    /// interpolation, no Karras sigmas. Pipeline default: 50 steps.
    case sdxlBase = "sdxl-base"
    /// `stabilityai/sdxl-turbo`: EulerAncestralDiscreteScheduler with the SDXL betas, `timestep_spacing`
    /// trailing (diffusers `sdxl_turbo.md`; the model card samples with 1 step, up to 4), no CFG, 512².
    case sdxlTurbo = "sdxl-turbo"
    /// `ByteDance/SDXL-Lightning` 2/4/8-step UNets: the model card's
    /// `EulerDiscreteScheduler.from_config(base, timestep_spacing="trailing")` (SDXL base config otherwise).
    /// The step count must match the checkpoint.
    case sdxlLightning = "sdxl-lightning"
    /// `ByteDance/SDXL-Lightning` 1-step UNet: as ``sdxlLightning`` plus `prediction_type="sample"`
    /// (the card's instruction for the 1-step checkpoint).
    case sdxlLightning1Step = "sdxl-lightning-1step"
    /// `black-forest-labs/FLUX.1-dev`, `scheduler/scheduler_config.json`: FlowMatchEulerDiscreteScheduler,
    /// shift 3.0, dynamic shifting with `mu = calculate_shift(seq)` from base_shift 0.5 at 256 tokens to
    /// max_shift 1.15 at 4096 tokens. Pipeline default: 28 steps, embedded guidance 3.5.
    case fluxDev = "flux-dev"
    /// `black-forest-labs/FLUX.1-schnell`, `scheduler/scheduler_config.json`: FlowMatchEulerDiscreteScheduler,
    /// shift 1.0, no dynamic shifting (BFL `get_schedule(..., shift=False)` for schnell), so
    /// σ = linspace(1, 1/n, n). 1–4 steps (BFL CLI default 4), no guidance.
    case fluxSchnell = "flux-schnell"

    /// The preset called `name` (case-insensitive; `_` and `-` are interchangeable).
    public init(name: String) throws(SchedulerError) {
        let normalized = name.lowercased().replacingOccurrences(of: "_", with: "-")
        guard let preset = Self(rawValue: normalized) else { throw .unknownPreset(name) }
        self = preset
    }

    /// The SDXL base `scheduler_config.json` (as EulerDiscreteScheduler reads it).
    public static let sdxlBaseConfig = EulerDiscreteSchedulerConfig(
        numTrainTimesteps: 1000, betaStart: 0.00085, betaEnd: 0.012, betaSchedule: "scaled_linear",
        predictionType: "epsilon", interpolationType: "linear", useKarrasSigmas: false,
        timestepSpacing: "leading", stepsOffset: 1)

    /// The scheduler class and configuration.
    public var configuration: SchedulerConfiguration {
        let base = Self.sdxlBaseConfig
        switch self {
        case .sdxlBase:
            return .eulerDiscrete(base)
        case .sdxlTurbo:
            return .eulerAncestralDiscrete(EulerAncestralDiscreteSchedulerConfig(
                numTrainTimesteps: base.numTrainTimesteps, betaStart: base.betaStart, betaEnd: base.betaEnd,
                betaSchedule: base.betaSchedule, predictionType: "epsilon", timestepSpacing: "trailing",
                stepsOffset: 1))
        case .sdxlLightning:
            var config = base
            config.timestepSpacing = "trailing"
            return .eulerDiscrete(config)
        case .sdxlLightning1Step:
            var config = base
            config.timestepSpacing = "trailing"
            config.predictionType = "sample"
            return .eulerDiscrete(config)
        case .fluxDev:
            return .flowMatchEulerDiscrete(FlowMatchEulerDiscreteSchedulerConfig(
                numTrainTimesteps: 1000, shift: 3.0, useDynamicShifting: true, baseShift: 0.5, maxShift: 1.15,
                baseImageSeqLen: 256, maxImageSeqLen: 4096))
        case .fluxSchnell:
            return .flowMatchEulerDiscrete(FlowMatchEulerDiscreteSchedulerConfig(
                numTrainTimesteps: 1000, shift: 1.0, useDynamicShifting: false))
        }
    }

    /// The step count the model is usually sampled with.
    public var defaultSteps: Int {
        switch self {
        case .sdxlBase: 50
        case .sdxlTurbo: 1
        case .sdxlLightning: 4
        case .sdxlLightning1Step: 1
        case .fluxDev: 28
        case .fluxSchnell: 4
        }
    }

    /// The pipeline's default classifier-free (SDXL) or embedded (FLUX-dev) guidance scale.
    public var defaultGuidance: Float {
        switch self {
        case .sdxlBase: 5.0  // StableDiffusionXLPipeline.__call__ default guidance_scale
        case .sdxlTurbo, .sdxlLightning, .sdxlLightning1Step: 0.0  // model cards: guidance_scale=0
        case .fluxDev: 3.5  // FluxPipeline default guidance_scale
        case .fluxSchnell: 0.0  // schnell has no guidance embedding
        }
    }

    /// The step counts the model was distilled for, or `nil` when any count works.
    public var supportedSteps: [Int]? {
        switch self {
        case .sdxlBase, .fluxDev: nil
        case .sdxlTurbo, .fluxSchnell: [1, 2, 3, 4]
        case .sdxlLightning: [2, 4, 8]
        case .sdxlLightning1Step: [1]
        }
    }

    /// The scheduler with its timesteps set the way the model's diffusers pipeline sets them: plain
    /// `set_timesteps(steps)` for SDXL; for FLUX, `sigmas = linspace(1, 1/n, n)` and
    /// `mu = calculate_shift(imageSequenceLength)` (``FlowMatchEulerDiscreteScheduler/setPipelineTimesteps(_:imageSequenceLength:)``).
    ///
    /// - Parameter imageSequenceLength: packed FLUX latent tokens (`(H/16)·(W/16)`); required for
    ///   ``fluxDev`` (throws ``SchedulerError/missingMu`` without it), unused elsewhere.
    public func makeScheduler(steps: Int? = nil, imageSequenceLength: Int? = nil) throws(SchedulerError) -> any Scheduler {
        let steps = steps ?? defaultSteps
        switch configuration {
        case .flowMatchEulerDiscrete(let config):
            var scheduler = try FlowMatchEulerDiscreteScheduler(config: config)
            guard let tokens = imageSequenceLength ?? (config.useDynamicShifting ? nil : config.baseImageSeqLen) else {
                throw .missingMu
            }
            try scheduler.setPipelineTimesteps(steps, imageSequenceLength: tokens)
            return scheduler
        default:
            var scheduler = try configuration.makeScheduler()
            try scheduler.setTimesteps(steps)
            return scheduler
        }
    }
}
