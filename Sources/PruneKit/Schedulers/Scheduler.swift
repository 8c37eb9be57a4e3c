import PruneTensor

/// A diffusers noise scheduler: the timestep/sigma schedule and the per-step update of a sampling loop.
///
/// Every conformer reproduces its diffusers namesake exactly (schedules match diffusers' float32 values; the
/// update is computed in float32 with the same formulas), except for the state: diffusers finds the step
/// index by looking the timestep up, here the caller passes `stepIndex` (0 ..< `timesteps.count`), so a
/// scheduler is an immutable value once its timesteps are set and `step` has no side effects.
///
/// Sampling loop (shapes: `x`, `noise` and the model output all share the latent shape, e.g. `[B, 4, H/8, W/8]`
/// for SDXL or `[B, N, 64]` for packed FLUX latents):
/// ```swift
/// var scheduler = try EulerDiscreteScheduler(config: SchedulerPreset.sdxlBaseConfig)
/// try scheduler.setTimesteps(30)            // or: try SchedulerPreset.sdxlBase.makeScheduler(steps: 30)
/// var x = initialNoise * scheduler.initNoiseSigma
/// for i in scheduler.timesteps.indices {
///     let eps = unet(scheduler.scaleModelInput(x, stepIndex: i), scheduler.timesteps[i])
///     x = scheduler.step(modelOutput: eps, stepIndex: i, sample: x,
///                        noise: scheduler.needsNoise(atStep: i) ? drawNoise() : nil)
/// }
/// ```
/// `step` uses only differentiable ``Tensor`` operations with `Float` coefficients, so an unrolled loop can be
/// recorded on the autodiff tape (gradients flow to `modelOutput`, `sample` and `noise`).
public protocol Scheduler: Sendable {
    /// The `scheduler_config.json` contents this scheduler was built from.
    associatedtype Config: Codable & Sendable & Equatable

    /// The diffusers class this type reproduces (`_class_name` in `scheduler_config.json`).
    static var diffusersClassName: String { get }

    /// Validates `config` and builds the scheduler (timesteps unset until ``setTimesteps(_:mu:)``).
    ///
    /// Throws ``SchedulerError/unsupportedOption(key:value:supported:)`` naming the first key whose value
    /// this implementation does not support.
    init(config: Config) throws(SchedulerError)

    /// The configuration, with diffusers' defaults filled in for absent keys.
    var config: Config { get }

    /// The timesteps of the current schedule, in sampling order (what the denoiser receives). Empty until
    /// timesteps are set. Usually `steps` long; diffusers' `trailing` spacing yields one extra timestep for a
    /// few step counts (e.g. 61) because of `np.arange` rounding, and this is reproduced.
    var timesteps: [Float] { get }

    /// The noise levels of the current schedule with the final value appended (`timesteps.count + 1`), or
    /// `nil` for schedulers that have none in diffusers (DDIM, LCM).
    var sigmas: [Float]? { get }

    /// The standard deviation of the initial latents: the pipeline draws `N(0, I) · initNoiseSigma`.
    var initNoiseSigma: Float { get }

    /// Computes the schedule for `steps` inference steps (diffusers' `set_timesteps(steps, mu=mu)`).
    ///
    /// `mu` is the dynamic-shift parameter of flow-matching schedulers (ignored elsewhere).
    /// Throws ``SchedulerError/invalidStepCount(_:reason:)`` for zero steps or a count the schedule cannot
    /// provide, ``SchedulerError/missingMu`` when dynamic shifting needs `mu`.
    mutating func setTimesteps(_ steps: Int, mu: Double?) throws(SchedulerError)

    /// The denoiser input for step `stepIndex` (Euler: `sample / √(σ² + 1)`; identity elsewhere).
    /// Shape: that of `sample`.
    func scaleModelInput(_ sample: Tensor, stepIndex: Int) -> Tensor

    /// Whether `step` at `stepIndex` uses its `noise` argument (ancestral sampling with `σ_up > 0`, LCM's
    /// re-noising before the last step). Where this is false, `noise` may be `nil`.
    func needsNoise(atStep stepIndex: Int) -> Bool

    /// One sampling step: the sample at the next (less noisy) timestep, plus the scheduler's estimate of
    /// the clean sample where diffusers reports one.
    ///
    /// - Parameters:
    ///   - modelOutput: the denoiser's prediction at `timesteps[stepIndex]`, shape of `sample`.
    ///   - stepIndex: the position in ``timesteps``.
    ///   - sample: the current sample `x_t` (unscaled), any shape.
    ///   - noise: a standard-normal tensor shaped like `sample`; required where ``needsNoise(atStep:)`` is true.
    func stepOutput(modelOutput: Tensor, stepIndex: Int, sample: Tensor, noise: Tensor?) -> SchedulerStepOutput
}

/// What one scheduler step produces.
public struct SchedulerStepOutput: Sendable {
    /// The sample for the next step (diffusers' `prev_sample`). Shape: that of the input sample.
    public var prevSample: Tensor
    /// The clean-sample estimate: diffusers' `pred_original_sample` (Euler, Euler-ancestral, DDIM) or
    /// `denoised` (LCM). `nil` for flow matching, whose diffusers output has none.
    public var predictedOriginalSample: Tensor?

    public init(prevSample: Tensor, predictedOriginalSample: Tensor?) {
        self.prevSample = prevSample
        self.predictedOriginalSample = predictedOriginalSample
    }
}

extension Scheduler {
    /// ``setTimesteps(_:mu:)`` without a shift parameter.
    public mutating func setTimesteps(_ steps: Int) throws(SchedulerError) {
        try setTimesteps(steps, mu: nil)
    }

    /// One sampling step; returns diffusers' `prev_sample` (see ``stepOutput(modelOutput:stepIndex:sample:noise:)``).
    public func step(modelOutput: Tensor, stepIndex: Int, sample: Tensor, noise: Tensor? = nil) -> Tensor {
        stepOutput(modelOutput: modelOutput, stepIndex: stepIndex, sample: sample, noise: noise).prevSample
    }

    /// The diffusers class name of this scheduler.
    public var diffusersClassName: String { Self.diffusersClassName }

    /// Checks `stepIndex` against the current schedule.
    func checkStepIndex(_ stepIndex: Int, function: StaticString = #function) {
        precondition(
            timesteps.indices.contains(stepIndex),
            "\(Self.diffusersClassName).\(function): step index \(stepIndex) outside 0..<\(timesteps.count)"
                + (timesteps.isEmpty ? " (call setTimesteps first)" : ""))
    }

    /// Checks the step count passed to `setTimesteps`.
    static func checkStepCount(_ steps: Int) throws(SchedulerError) {
        guard steps > 0 else {
            throw .invalidStepCount(steps, reason: "a schedule needs at least one inference step")
        }
    }
}

/// `noise` for a step that needs it, or a precondition failure naming the scheduler.
func requiredNoise(_ noise: Tensor?, scheduler: String, stepIndex: Int) -> Tensor {
    guard let noise else {
        preconditionFailure("\(scheduler).step at index \(stepIndex) needs noise (see needsNoise(atStep:))")
    }
    return noise
}
