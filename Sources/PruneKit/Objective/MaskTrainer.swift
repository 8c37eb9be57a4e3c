import PruneNN
import PruneTensor

/// How long and in what batches masks learn.
public struct MaskTrainingSchedule: Sendable, Equatable {
    /// Passes over the calibration prompts (EcoDiff: 4).
    public var epochs: Int
    /// Prompts whose gradients are summed before each optimizer step (EcoDiff: 4; batch 1).
    public var accumulationSteps: Int
    /// The seed every trajectory's ``MaskNoise`` derives from.
    public var seed: UInt64
    public var noiseScope: MaskNoise.Scope

    public init(epochs: Int = 4, accumulationSteps: Int = 4, seed: UInt64 = 44, noiseScope: MaskNoise.Scope = .perStep) {
        precondition(epochs >= 0 && accumulationSteps >= 1, "epochs ≥ 0 and accumulation steps ≥ 1")
        self.epochs = epochs
        self.accumulationSteps = accumulationSteps
        self.seed = seed
        self.noiseScope = noiseScope
    }

    /// The mask noise of prompt `prompt` in epoch `epoch`: one value drawn from a generator seeded by
    /// `(seed, epoch, prompt)`, so a resumed run draws exactly what an uninterrupted one would.
    public func maskNoise(epoch: Int, prompt: Int) -> MaskNoise {
        var generator = SeededGenerator(seed: seed ^ (UInt64(epoch) &* 0xD1B5_4A32_D192_ED03) ^ (UInt64(prompt) &* 0x9E37_79B9_7F4A_7C15))
        return MaskNoise.draw(using: &generator, scope: noiseScope)
    }
}

/// What happened after one prompt of ``MaskTrainer/train(_:fromEpoch:onPrompt:)``.
public struct MaskTrainingEvent: Sendable {
    public var epoch: Int
    public var prompt: Int
    /// The objective at the λ the prompt's gradient was taken at.
    public var value: ObjectiveValue
    /// Whether the optimizer stepped after this prompt.
    public var optimizerStepped: Bool
    /// The optimizer's state right after it stepped (for checkpoints); `nil` when it did not step.
    public var optimizerState: AdamWState?
}

/// Learns the masks of a ``MaskSet``: for each epoch and prompt, accumulate the objective's λ gradient;
/// every ``MaskTrainingSchedule/accumulationSteps`` prompts (and at the end of an epoch) take one AdamW
/// step and clear the gradients. Each prompt's gradient is taken alone and the prompts' gradients are added
/// in prompt order (``MaskGradientSum``), which a data-parallel run reproduces bit for bit.
///
/// Each prompt's loss carries its own β·R, so the penalty's gradient counts once per prompt of a batch,
/// as in EcoDiff. EcoDiff steps when `prompt index % 4 == 0` (after prompts 0, 4, 8, …); this steps after
/// every full batch of `accumulationSteps` prompts and flushes a partial batch at the end of the epoch.
/// Prompts are visited in order.
///
/// This implementation matches: EcoDiff `scripts/train.py` (AdamW, per-kind learning rates, summed
/// gradient accumulation, constant learning rate).
public struct MaskTrainer {
    public let masks: MaskSet
    public var objective: EcoDiffObjective
    public var optimizer: AdamW
    public var schedule: MaskTrainingSchedule

    public init(masks: MaskSet, objective: EcoDiffObjective, optimizer: AdamW, schedule: MaskTrainingSchedule) {
        self.masks = masks
        self.objective = objective
        self.optimizer = optimizer
        self.schedule = schedule
    }

    /// AdamW over `masks` with one parameter group per unit kind present (named by ``UnitKind/rawValue``;
    /// parameter keys are module keys).
    ///
    /// - Parameter learningRates: per kind; EcoDiff SDXL: heads 0.1, neurons 0.1; FLUX: heads 0.5,
    ///   neurons 0.1, modulation 0.5. A kind without an entry uses `defaultLearningRate`.
    public static func optimizer(
        for masks: MaskSet, learningRates: [UnitKind: Float], defaultLearningRate: Float = 0.1, weightDecay: Float = 0.01
    ) -> AdamW {
        var groups: [ParameterGroup] = []
        for kind in UnitKind.allCases {
            let parameters = masks.lambdas(of: kind).map { (key: $0.key, tensor: $0.lambda) }
            guard !parameters.isEmpty else { continue }
            groups.append(
                ParameterGroup(
                    name: kind.rawValue, parameters: parameters, learningRate: learningRates[kind] ?? defaultLearningRate,
                    weightDecay: weightDecay))
        }
        return AdamW(groups: groups)
    }

    /// EcoDiff's SDXL learning rates.
    public static let sdxlLearningRates: [UnitKind: Float] = [.attentionHead: 0.1, .feedForwardNeuron: 0.1]
    /// EcoDiff's FLUX learning rates.
    public static let fluxLearningRates: [UnitKind: Float] = [.attentionHead: 0.5, .feedForwardNeuron: 0.1, .modulationOutput: 0.5]

    /// Runs the schedule over `samples`, from prompt `firstPrompt` of epoch `firstEpoch` — to resume after
    /// restoring λ with ``MaskSet/assign(_:)`` and the optimizer with ``AdamW/load(_:)`` at an optimizer-step
    /// boundary (`firstPrompt` a multiple of ``MaskTrainingSchedule/accumulationSteps``). Mask noise depends
    /// only on (seed, epoch, prompt), so a resumed run equals an uninterrupted one.
    ///
    /// - Returns: the mean objective of each epoch run (the first over the prompts it ran).
    /// - Throws: trajectory and objective errors (λ keeps the updates made before the error); errors thrown by
    ///   `onPrompt` stop training the same way.
    @discardableResult
    public mutating func train<Trajectory: DenoisingTrajectory>(
        _ samples: [CalibrationSample<Trajectory>], fromEpoch firstEpoch: Int = 0, prompt firstPrompt: Int = 0,
        onPrompt: (MaskTrainingEvent) throws -> Void = { _ in }
    ) throws -> [ObjectiveValue] {
        precondition(firstPrompt >= 0 && firstPrompt % schedule.accumulationSteps == 0, "resume at an optimizer-step boundary")
        var epochMeans: [ObjectiveValue] = []
        masks.zeroGradients()
        var gradients = MaskGradientSum()
        for epoch in firstEpoch..<Swift.max(firstEpoch, schedule.epochs) {
            var pending = 0
            var sum = ObjectiveValue(reconstruction: 0, penalty: 0, total: 0)
            let start = epoch == firstEpoch ? Swift.min(firstPrompt, samples.count) : 0
            for (index, sample) in samples.enumerated() where index >= start {
                let value = try objective.accumulateGradients(
                    sample.trajectory, noise: sample.noise, target: sample.target, masks: masks,
                    maskNoise: schedule.maskNoise(epoch: epoch, prompt: index))
                gradients.takePrompt(from: masks)
                pending += 1
                let stepNow = pending == schedule.accumulationSteps || index == samples.count - 1
                if stepNow {
                    gradients.install(into: masks)
                    optimizer.step()
                    masks.zeroGradients()
                    pending = 0
                }
                sum.reconstruction += value.reconstruction
                sum.penalty += value.penalty
                sum.total += value.total
                try onPrompt(MaskTrainingEvent(
                    epoch: epoch, prompt: index, value: value, optimizerStepped: stepNow,
                    optimizerState: stepNow ? optimizer.state : nil))
            }
            let n = Float(Swift.max(samples.count - start, 1))
            epochMeans.append(ObjectiveValue(reconstruction: sum.reconstruction / n, penalty: sum.penalty / n, total: sum.total / n))
        }
        return epochMeans
    }
}
