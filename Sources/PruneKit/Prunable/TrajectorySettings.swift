import PruneTensor

/// How a calibration trajectory is unrolled; unset fields take the model's defaults
/// (``PrunableModel/defaultTrajectorySettings``).
public struct TrajectorySettings: Sendable, Equatable {
    /// The scheduler (and its pipeline conventions).
    public var scheduler: SchedulerPreset?
    /// Denoising steps.
    public var steps: Int?
    /// Classifier-free (SDXL) or embedded (FLUX-dev) guidance scale.
    public var guidanceScale: Float?
    /// Image height in pixels.
    public var height: Int?
    /// Image width in pixels.
    public var width: Int?
    /// A scheduler configuration (a `scheduler_config.json`) replacing ``scheduler``'s own; the preset still
    /// gives the default steps and guidance.
    public var schedulerConfiguration: SchedulerConfiguration?
    /// Pixels per latent row and column: diffusers' `vae_scale_factor`, `2^(levels − 1)` of the pipeline's VAE
    /// (8 for SDXL's and FLUX's, the default).
    public var vaeScaleFactor: Int?

    public init(
        scheduler: SchedulerPreset? = nil, steps: Int? = nil, guidanceScale: Float? = nil, height: Int? = nil, width: Int? = nil,
        schedulerConfiguration: SchedulerConfiguration? = nil, vaeScaleFactor: Int? = nil
    ) {
        self.scheduler = scheduler
        self.steps = steps
        self.guidanceScale = guidanceScale
        self.height = height
        self.width = width
        self.schedulerConfiguration = schedulerConfiguration
        self.vaeScaleFactor = vaeScaleFactor
    }

    /// These settings with every unset field taken from `defaults`.
    public func filled(from defaults: TrajectorySettings) -> TrajectorySettings {
        TrajectorySettings(
            scheduler: scheduler ?? defaults.scheduler, steps: steps ?? defaults.steps ?? scheduler?.defaultSteps,
            guidanceScale: guidanceScale ?? defaults.guidanceScale ?? scheduler?.defaultGuidance,
            height: height ?? defaults.height, width: width ?? defaults.width,
            schedulerConfiguration: schedulerConfiguration ?? defaults.schedulerConfiguration,
            vaeScaleFactor: vaeScaleFactor ?? defaults.vaeScaleFactor)
    }

    /// The filled settings, checked: a scheduler, at least one step (within the scheduler's distilled
    /// step counts when it has them), a positive image size.
    /// - Throws: ``PrunableModelError/badSetting(_:)`` naming the setting.
    public func resolved(defaults: TrajectorySettings) throws(PrunableModelError) -> ResolvedTrajectorySettings {
        let filled = filled(from: defaults)
        guard let scheduler = filled.scheduler else { throw .badSetting("no scheduler given and the model has no default") }
        let steps = filled.steps ?? scheduler.defaultSteps
        guard steps >= 1 else { throw .badSetting("steps must be at least 1, got \(steps)") }
        guard let height = filled.height, let width = filled.width, height > 0, width > 0 else {
            throw .badSetting("the image size must be positive, got \(filled.height ?? 0)×\(filled.width ?? 0)")
        }
        let factor = filled.vaeScaleFactor ?? 8
        guard factor >= 1 else { throw .badSetting("the VAE scale factor must be at least 1, got \(factor)") }
        return ResolvedTrajectorySettings(
            scheduler: scheduler, steps: steps, guidanceScale: filled.guidanceScale ?? scheduler.defaultGuidance,
            height: height, width: width, schedulerConfiguration: filled.schedulerConfiguration ?? scheduler.configuration,
            vaeScaleFactor: factor)
    }
}

/// Trajectory settings with every field decided.
public struct ResolvedTrajectorySettings: Sendable, Equatable {
    public var scheduler: SchedulerPreset
    public var steps: Int
    public var guidanceScale: Float
    public var height: Int
    public var width: Int
    /// The scheduler actually used: ``TrajectorySettings/schedulerConfiguration`` or the preset's.
    public var schedulerConfiguration: SchedulerConfiguration
    /// Pixels per latent row and column.
    public var vaeScaleFactor: Int

    public init(
        scheduler: SchedulerPreset, steps: Int, guidanceScale: Float, height: Int, width: Int,
        schedulerConfiguration: SchedulerConfiguration? = nil, vaeScaleFactor: Int = 8
    ) {
        self.scheduler = scheduler
        self.steps = steps
        self.guidanceScale = guidanceScale
        self.height = height
        self.width = width
        self.schedulerConfiguration = schedulerConfiguration ?? scheduler.configuration
        self.vaeScaleFactor = vaeScaleFactor
    }
}

/// A trajectory ready to unroll, and the shape of the standard-normal noise it starts from
/// (SDXL: `[1, C, H/8, W/8]`; FLUX: packed `[1, (H/16)·(W/16), C·4]`).
public struct PreparedTrajectory {
    public var trajectory: AnyDenoisingTrajectory
    public var noiseShape: [Int]
    /// The settings the trajectory was made with, when the architecture reports them (built-ins do).
    public var settings: ResolvedTrajectorySettings?

    public init<Trajectory: DenoisingTrajectory>(_ trajectory: Trajectory, noiseShape: [Int], settings: ResolvedTrajectorySettings? = nil) {
        self.trajectory = AnyDenoisingTrajectory(trajectory)
        self.noiseShape = noiseShape
        self.settings = settings
    }
}

/// One prompt's conditioning, by the names of diffusers' pipeline arguments (`prompt_embeds`,
/// `pooled_prompt_embeds`, `negative_prompt_embeds`, `negative_pooled_prompt_embeds`, …), each a batch of 1.
public struct PromptConditioning {
    /// Tensors by name, `[1, …]` each.
    public var tensors: [String: Tensor]
    /// Where the tensors came from, for error messages (a file path, usually).
    public var source: String

    public init(_ tensors: [String: Tensor], source: String) {
        self.tensors = tensors
        self.source = source
    }

    /// The tensor `name`.
    /// - Throws: ``PrunableModelError/missingConditioning(name:source:)``.
    public func required(_ name: String) throws(PrunableModelError) -> Tensor {
        guard let tensor = tensors[name] else { throw .missingConditioning(name: name, source: source) }
        return tensor
    }

    /// The tensor `name`, if present.
    public func optional(_ name: String) -> Tensor? { tensors[name] }
}
