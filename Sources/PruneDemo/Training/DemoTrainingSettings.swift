import Foundation

/// Everything that determines a demo training run; recorded in checkpoints and in `demo.json`.
public struct DemoTrainingSettings: Codable, Sendable, Equatable {
    public var architecture: DemoArchitecture
    /// Seeds the initial weights, the dataset, the null-prompt dropout, timesteps and noise.
    public var seed: UInt64
    /// Optimizer steps of the whole run.
    public var steps: Int
    public var batchSize: Int = 32
    /// Peak AdamW learning rate.
    public var learningRate: Float = 1e-3
    /// Linear warm-up from 0 over this many steps, then a cosine decay to ``finalLearningRateFraction`` × peak.
    public var warmupSteps: Int = 100
    public var finalLearningRateFraction: Float = 0.1
    /// AdamW's decoupled weight decay.
    public var weightDecay: Float = 0.01
    /// Global gradient-norm clip.
    public var gradientClip: Float = 1.0
    /// EMA decay of the shipped weights.
    public var emaDecay: Float = 0.999
    /// Probability that a training prompt is replaced by the null prompt (for classifier-free guidance).
    public var nullPromptProbability: Float = 0.1

    public init(architecture: DemoArchitecture, seed: UInt64, steps: Int) {
        self.architecture = architecture
        self.seed = seed
        self.steps = steps
    }

    /// Throws for values that cannot train.
    public func validate() throws(DemoModelError) {
        guard steps >= 0 else { throw .invalidConfiguration("--steps must not be negative, got \(steps)") }
        guard batchSize > 0 else { throw .invalidConfiguration("batch size must be positive, got \(batchSize)") }
        guard learningRate > 0, learningRate.isFinite else { throw .invalidConfiguration("learning rate must be positive, got \(learningRate)") }
        guard warmupSteps >= 0 else { throw .invalidConfiguration("warm-up steps must not be negative") }
        guard (0...1).contains(finalLearningRateFraction) else { throw .invalidConfiguration("final learning-rate fraction must lie in [0, 1]") }
        guard (0..<1).contains(emaDecay) else { throw .invalidConfiguration("EMA decay must lie in [0, 1), got \(emaDecay)") }
        guard (0...1).contains(nullPromptProbability) else { throw .invalidConfiguration("null-prompt probability must lie in [0, 1]") }
        guard gradientClip > 0 else { throw .invalidConfiguration("gradient clip must be positive") }
    }

    /// The learning rate of optimizer step `step` (0-based): linear warm-up, then cosine decay.
    public func learningRate(atStep step: Int) -> Float {
        if step < warmupSteps { return learningRate * Float(step + 1) / Float(warmupSteps) }
        let decaySteps = Swift.max(steps - warmupSteps, 1)
        let progress = Swift.min(Double(step - warmupSteps) / Double(decaySteps), 1)
        let cosine = Float(0.5 * (1 + Foundation.cos(Double.pi * progress)))
        return learningRate * (finalLearningRateFraction + (1 - finalLearningRateFraction) * cosine)
    }

    enum CodingKeys: String, CodingKey {
        case architecture, seed, steps, batchSize = "batch_size", learningRate = "learning_rate"
        case warmupSteps = "warmup_steps", finalLearningRateFraction = "final_learning_rate_fraction"
        case weightDecay = "weight_decay", gradientClip = "gradient_clip", emaDecay = "ema_decay"
        case nullPromptProbability = "null_prompt_probability"
    }
}
