import PruneTensor

/// The uniform draws behind the hard-concrete gates of one trajectory, fixed when the trajectory starts.
///
/// EcoDiff draws fresh noise at every module call, i.e. per (denoising step, module); ``Scope/perStep``
/// keeps that. Unlike the official code, the draws are a pure function of `(seed, step, module order)`:
/// the no-gradient forward pass of time-step gradient checkpointing and the per-step recompute of the
/// reverse loop therefore see bit-identical masks, so the gradient is the exact gradient of the loss
/// that the forward pass evaluated (the official code re-samples in the recompute — DESIGN decision 4).
///
/// Draws are regenerated from the seed rather than stored: `O(units)` memory whatever the step count.
public struct MaskNoise: Sendable, Equatable, Hashable {
    /// Whether the mask noise changes from step to step.
    public enum Scope: String, Sendable, Codable, CaseIterable {
        /// A fresh draw for every (step, module), as EcoDiff samples at every module call (default).
        case perStep
        /// One draw per module, shared by every step of the trajectory.
        case perTrajectory
    }

    /// The seed every draw of the trajectory derives from.
    public let seed: UInt64
    public let scope: Scope

    public init(seed: UInt64, scope: Scope = .perStep) {
        self.seed = seed
        self.scope = scope
    }

    /// The noise of one trajectory, seeded by one value taken from `generator`.
    public static func draw(using generator: inout SeededGenerator, scope: Scope = .perStep) -> MaskNoise {
        MaskNoise(seed: generator.next(), scope: scope)
    }

    /// The uniform draws in `[0, 1)` of step `step`, one `[count]` tensor per module, drawn in the order of
    /// `modules` from a generator seeded by `(seed, step)` (step 0 for ``Scope/perTrajectory``).
    ///
    /// - Returns: module key → `[count]`.
    public func uniforms(step: Int, modules: [(key: String, count: Int)]) -> [String: Tensor] {
        precondition(step >= 0, "negative step index \(step)")
        let streamIndex = scope == .perStep ? UInt64(step) : 0
        // SeededGenerator passes its seed through SplitMix64, so neighbouring seeds give unrelated streams.
        var generator = SeededGenerator(seed: seed ^ ((streamIndex &+ 1) &* 0x9E37_79B9_7F4A_7C15))
        var draws: [String: Tensor] = [:]
        for module in modules {
            draws[module.key] = Tensor.randomUniform([module.count], using: &generator)
        }
        return draws
    }
}
