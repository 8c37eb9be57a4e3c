import PruneNN
import PruneTensor

/// One step of ``DenoisingTrajectory/unroll(from:masks:detachingBetweenSteps:onStep:)``.
public struct UnrolledStep {
    /// 0-based step index.
    public var index: Int
    /// The latents entering the step.
    public var input: Tensor
    /// The latents after the step (on the tape when gradients are being recorded).
    public var output: Tensor
}

/// Whether an unroll goes on after a step.
public enum UnrollControl: Sendable {
    case proceed
    case stop
}

extension DenoisingTrajectory {
    /// The denoising loop — the only one in PruneKit and its callers: runs ``step(_:index:masks:)`` for
    /// every index from `latents` (those entering step 0), with `masks(index)` at each step, and reports
    /// every step to `onStep`, which may stop the loop early.
    ///
    /// Gradient recording is the caller's (`withGradients` / `withoutGradients` around the call).
    /// - Parameters:
    ///   - detachingBetweenSteps: feed each step a detached copy of the previous output, so every step's tape
    ///     stands alone (per-step criteria); otherwise the outputs chain on one tape.
    /// - Returns: the latents after the last step run (the stopping step's output when stopped).
    /// - Throws: whatever the steps or `onStep` throw.
    @discardableResult
    public func unroll(
        from latents: Tensor, masks: (Int) -> UnitMasks = { _ in .none }, detachingBetweenSteps: Bool = false,
        onStep: (UnrolledStep) throws -> UnrollControl = { _ in .proceed }
    ) throws -> Tensor {
        var latents = latents
        for index in 0..<stepCount {
            let output = try step(latents, index: index, masks: masks(index))
            let control = try onStep(UnrolledStep(index: index, input: latents, output: output))
            latents = detachingBetweenSteps ? output.detached() : output
            if control == .stop { break }
        }
        return latents
    }

    /// ``unroll(from:masks:detachingBetweenSteps:onStep:)`` from standard-normal `noise`
    /// (through ``initialLatents(noise:)``).
    @discardableResult
    public func unroll(
        noise: Tensor, masks: (Int) -> UnitMasks = { _ in .none }, onStep: (UnrolledStep) throws -> UnrollControl = { _ in .proceed }
    ) throws -> Tensor {
        try unroll(from: initialLatents(noise: noise), masks: masks, onStep: onStep)
    }

    /// The final latents from `noise` with the same `masks` at every step.
    public func finalLatents(noise: Tensor, masks: UnitMasks = .none) throws -> Tensor {
        try unroll(noise: noise, masks: { _ in masks })
    }
}

/// Classifier-free guidance, the one combination every sampler uses: `ε = ε_u + g·(ε_c − ε_u)`.
///
/// This implementation matches: diffusers' pipelines (`noise_pred_uncond + guidance_scale * (noise_pred_text -
/// noise_pred_uncond)`), evaluated in that order so results stay bit-identical to the loops it replaced.
public enum ClassifierFreeGuidance {
    /// `unconditional + scale · (conditional − unconditional)`, shapes as the inputs.
    public static func combine(unconditional: Tensor, conditional: Tensor, scale: Float) -> Tensor {
        unconditional + (conditional - unconditional) * scale
    }

    /// A prediction over the doubled batch `[unconditional; conditional]` (`[2B, …]`) guided to `[B, …]`.
    public static func combine(batched prediction: Tensor, scale: Float) -> Tensor {
        let halves = prediction.chunked(2, axis: 0)
        return combine(unconditional: halves[0], conditional: halves[1], scale: scale)
    }
}
