import PruneNN
import PruneTensor

extension MaskTrainer {
    /// Trains on a shard of the calibration prompts: the same schedule as ``train(_:fromEpoch:prompt:onPrompt:)``
    /// over all `shard.promptCount` prompts, with each optimizer step's prompts computed on the ranks that own them
    /// (``CalibrationShard/owner(ofPrompt:)``).
    ///
    /// For every step (the prompts `[s, s + accumulationSteps)` of an epoch, the last one possibly shorter) each
    /// rank computes the λ gradient of each of its prompts alone and writes it into that prompt's slot of one
    /// buffer (zeros elsewhere); one sum over the ranks (``ProcessGroup/allReduceSum(_:)-(inout [Float])``) then
    /// gives every rank every prompt's gradient exactly (a value plus zeros), with which modules received one and
    /// the prompts' loss terms. Every rank adds the prompts' gradients in prompt order, as a single process does
    /// (``MaskGradientSum``), and applies the identical AdamW update: λ equal the single process's bit for bit.
    /// The buffer holds `accumulationSteps × (units + modules + 3)` floats. `onPrompt` runs on every rank for
    /// every prompt of a step, in prompt order, once the step is taken (the last prompt's event carries the
    /// optimizer state).
    ///
    /// With a group of one process this is ``train(_:fromEpoch:prompt:onPrompt:)``.
    ///
    /// - Parameter samples: this rank's samples, one per prompt of ``CalibrationShard/ownedPrompts``, in order.
    /// - Throws: as ``train(_:fromEpoch:prompt:onPrompt:)``, and ``ProcessGroupError``. A rank that throws
    ///   leaves the others waiting in the next sum: callers end the group (``ProcessGroup/abort(message:code:)``).
    @discardableResult
    public mutating func train<Trajectory: DenoisingTrajectory>(
        _ samples: [CalibrationSample<Trajectory>], shard: CalibrationShard, fromEpoch firstEpoch: Int = 0, prompt firstPrompt: Int = 0,
        onPrompt: (MaskTrainingEvent) throws -> Void = { _ in }
    ) throws -> [ObjectiveValue] {
        let group = shard.group
        guard group.isDistributed else {
            return try train(samples, fromEpoch: firstEpoch, prompt: firstPrompt, onPrompt: onPrompt)
        }
        precondition(samples.count == shard.ownedPrompts.count, "one sample per owned prompt")
        precondition(firstPrompt >= 0 && firstPrompt % schedule.accumulationSteps == 0, "resume at an optimizer-step boundary")
        let prompts = shard.promptCount
        let modules = masks.modules
        // One prompt's slot: per module a presence flag and its gradient, then reconstruction, penalty, total.
        let slotSize = masks.unitCount + modules.count + 3
        var epochMeans: [ObjectiveValue] = []
        masks.zeroGradients()
        var gradients = MaskGradientSum()
        for epoch in firstEpoch..<Swift.max(firstEpoch, schedule.epochs) {
            var sum = ObjectiveValue(reconstruction: 0, penalty: 0, total: 0)
            let start = epoch == firstEpoch ? Swift.min(firstPrompt, prompts) : 0
            var stepStart = start
            while stepStart < prompts {
                let stepEnd = Swift.min(stepStart + schedule.accumulationSteps, prompts)
                var buffer = [Float](repeating: 0, count: slotSize * (stepEnd - stepStart))
                for prompt in stepStart..<stepEnd where shard.owner(ofPrompt: prompt) == group.rank {
                    let sample = samples[shard.localIndex(ofPrompt: prompt)]
                    let value = try objective.accumulateGradients(
                        sample.trajectory, noise: sample.noise, target: sample.target, masks: masks,
                        maskNoise: schedule.maskNoise(epoch: epoch, prompt: prompt))
                    var offset = slotSize * (prompt - stepStart)
                    for module in modules {
                        if let gradient = masks.lambdas[module.key]!.gradient {
                            buffer[offset] = 1
                            buffer.replaceSubrange((offset + 1)..<(offset + 1 + module.unitCount), with: gradient.scalars())
                        }
                        offset += 1 + module.unitCount
                    }
                    (buffer[offset], buffer[offset + 1], buffer[offset + 2]) = (value.reconstruction, value.penalty, value.total)
                    masks.zeroGradients()
                }
                try group.allReduceSum(&buffer)
                var values: [ObjectiveValue] = []
                for prompt in stepStart..<stepEnd {
                    var offset = slotSize * (prompt - stepStart)
                    for module in modules {
                        if buffer[offset] > 0 {
                            gradients.add(buffer[(offset + 1)..<(offset + 1 + module.unitCount)], module: module.key)
                        }
                        offset += 1 + module.unitCount
                    }
                    values.append(ObjectiveValue(reconstruction: buffer[offset], penalty: buffer[offset + 1], total: buffer[offset + 2]))
                }
                gradients.install(into: masks)
                optimizer.step()
                masks.zeroGradients()
                for (position, prompt) in (stepStart..<stepEnd).enumerated() {
                    let value = values[position]
                    sum.reconstruction += value.reconstruction
                    sum.penalty += value.penalty
                    sum.total += value.total
                    let stepped = prompt == stepEnd - 1
                    try onPrompt(MaskTrainingEvent(
                        epoch: epoch, prompt: prompt, value: value, optimizerStepped: stepped,
                        optimizerState: stepped ? optimizer.state : nil))
                }
                stepStart = stepEnd
            }
            let n = Float(Swift.max(prompts - start, 1))
            epochMeans.append(ObjectiveValue(reconstruction: sum.reconstruction / n, penalty: sum.penalty / n, total: sum.total / n))
        }
        return epochMeans
    }
}
