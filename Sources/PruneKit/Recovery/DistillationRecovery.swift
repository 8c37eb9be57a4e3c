import Foundation
import PruneNN
import PruneTensor

/// Settings of a recovery run.
public struct RecoverySettings: Sendable {
    public var method: RecoveryMethod
    /// Optimizer steps; each distils one (prompt, step) pair.
    public var iterations: Int
    public var learningRate: Float
    public var weightDecay: Float
    /// Seed of the LoRA initialisation and of the order of the pairs.
    public var seed: UInt64

    public init(method: RecoveryMethod, iterations: Int, learningRate: Float, weightDecay: Float = 0, seed: UInt64 = 0) {
        self.method = method
        self.iterations = iterations
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.seed = seed
    }
}

/// What a recovery run changed, measured on all of its (prompt, step) pairs before and after.
public struct RecoveryReport: Sendable, Codable, Equatable {
    public var method: String
    /// Parameters the optimizer trained (LoRA factors, or every parameter).
    public var trainableParameters: Int
    public var iterations: Int
    public var seconds: Double
    /// Mean per-step distillation MSE (student step from the teacher's latents vs the teacher's next latents).
    public var stepLossBefore: Float
    public var stepLossAfter: Float
    /// Mean MSE of the student's final latents vs the teacher's, each trajectory run from the same noise.
    public var finalLatentMSEBefore: Float
    public var finalLatentMSEAfter: Float
}

/// Recovers a pruned model (the student) by distilling its original (the teacher) step by step along the
/// teacher's own trajectories: for a prompt and step `i`, the loss is `MSE(student.step(xᵢ), xᵢ₊₁)` where
/// `xᵢ` are the teacher's latents. Works for any ``PrunableModel`` pair of one architecture.
///
/// With a student schedule of fewer steps (`studentSettings`, `T = k·S` teacher steps for `S` student
/// steps), the same loss distils steps: student step `j` learns to go from the teacher's latents after
/// `k·j` steps to those after `k·(j+1)` — progressive distillation towards a few-step model. The
/// schedules must nest (the student's timesteps are every `k`-th of the teacher's, as for leading or
/// trailing spacing and the flow-match sigmas with `T` a multiple of `S`).
///
/// LoRA adapters are merged into the student's weights at the end, so the student stays a plain dense
/// model of the pruned size and exports like any other.
public final class DistillationRecovery {
    public let teacher: any PrunableModel
    public let student: any PrunableModel
    private let studentTrajectories: [AnyDenoisingTrajectory]
    private let noises: [Tensor]
    /// Teacher latents per prompt: `T + 1` tensors from the initial latents to the final ones.
    private let teacherLatents: [[Tensor]]
    /// Teacher steps per student step (`k`; 1 when both follow one schedule).
    public let teacherStepsPerStudentStep: Int

    /// Runs the teacher once per prompt from noise drawn as ``PrunableModel/calibrationSamples(prompts:settings:seed:withTargets:onPrompt:)`` draws it.
    /// - Parameters:
    ///   - settings: the teacher's trajectory (and the student's unless `studentSettings` is given).
    ///   - studentSettings: a schedule of fewer steps for step distillation; its step count must divide the teacher's.
    /// - Throws: ``PrunableModelError`` for missing conditioning, bad settings or step counts that do not nest; model errors.
    public init(
        teacher: any PrunableModel, student: any PrunableModel, prompts: [PromptConditioning], settings: TrajectorySettings,
        studentSettings: TrajectorySettings? = nil, seed: UInt64
    ) throws {
        self.teacher = teacher
        self.student = student
        var trajectories: [AnyDenoisingTrajectory] = []
        var noises: [Tensor] = []
        var latents: [[Tensor]] = []
        var stride = 1
        for (index, conditioning) in prompts.enumerated() {
            let promptSeed = CalibrationSeeds.noise(seed, prompt: index)
            let teacherTrajectory = try teacher.trajectory(conditioning: conditioning, settings: settings, seed: promptSeed &+ 1)
            let studentTrajectory = try student.trajectory(
                conditioning: conditioning, settings: studentSettings ?? settings, seed: promptSeed &+ 1)
            let (teacherSteps, studentSteps) = (teacherTrajectory.trajectory.stepCount, studentTrajectory.trajectory.stepCount)
            guard studentSteps >= 1, teacherSteps % studentSteps == 0 else {
                throw PrunableModelError.badSetting(
                    "the student's \(studentSteps) steps must divide the teacher's \(teacherSteps) steps")
            }
            stride = teacherSteps / studentSteps
            let noise = Tensor.randomNormal(teacherTrajectory.noiseShape, seed: promptSeed)
            var path = [teacherTrajectory.trajectory.initialLatents(noise: noise)]
            _ = try withoutGradients {
                try teacherTrajectory.trajectory.unroll(
                    from: path[0],
                    onStep: { step in
                        path.append(step.output)
                        return .proceed
                    })
            }
            trajectories.append(studentTrajectory.trajectory)
            noises.append(noise)
            latents.append(path)
        }
        studentTrajectories = trajectories
        self.noises = noises
        teacherLatents = latents
        teacherStepsPerStudentStep = stride
    }

    /// Every (prompt, student step) pair.
    private var pairs: [(prompt: Int, step: Int)] {
        teacherLatents.indices.flatMap { prompt in (0..<studentTrajectories[prompt].stepCount).map { (prompt, $0) } }
    }

    /// The per-step distillation loss of one pair (on the tape when anything requires a gradient): student
    /// step `j` from the teacher's latents after `k·j` steps, against those after `k·(j+1)`.
    private func stepLoss(prompt: Int, step: Int) throws -> Tensor {
        let k = teacherStepsPerStudentStep
        let predicted = try studentTrajectories[prompt].step(teacherLatents[prompt][k * step], index: step, masks: .none)
        return meanSquaredError(predicted, teacherLatents[prompt][k * (step + 1)])
    }

    /// Mean step loss and mean final-latent MSE of the student as it stands.
    public func evaluate(adapters: LowRankAdapters = LowRankAdapters()) throws -> (stepLoss: Float, finalLatentMSE: Float) {
        try withoutGradients {
            try adapters.withActive {
                var stepTotal: Float = 0
                for pair in pairs { stepTotal += try stepLoss(prompt: pair.prompt, step: pair.step).scalars()[0] }
                var finalTotal: Float = 0
                for prompt in teacherLatents.indices {
                    let latents = try studentTrajectories[prompt].finalLatents(noise: noises[prompt])
                    finalTotal += meanSquaredError(latents, teacherLatents[prompt].last!).scalars()[0]
                }
                return (stepTotal / Float(max(pairs.count, 1)), finalTotal / Float(max(teacherLatents.count, 1)))
            }
        }
    }

    /// LoRA adapters for every rank-2 student weight matching `targets`, initialised from `seed`.
    /// - Throws: ``PlanError/invalidPattern(_:reason:)`` for a bad pattern.
    public func makeAdapters(rank: Int, alpha: Float, targets: [ModulePattern], seed: UInt64) throws -> LowRankAdapters {
        var adapters = LowRankAdapters()
        let parameters = student.parameters.parameters
        for (offset, key) in parameters.keys.sorted().enumerated() {
            guard let weight = parameters[key], weight.rank == 2, weight.shape.allSatisfy({ $0 > 0 }) else { continue }
            guard try targets.contains(where: { try $0.matches(key) }) else { continue }
            let adapter = LowRankAdapter(
                weightShape: weight.shape, rank: min(rank, weight.shape[0], weight.shape[1]), alpha: alpha,
                seed: CalibrationSeeds.noise(seed, prompt: offset))
            adapters.add(adapter, key: key, weight: weight)
        }
        return adapters
    }

    /// Trains the student, merging LoRA into its weights at the end.
    /// - Parameter onIteration: called after each optimizer step with its index and loss.
    /// - Returns: the losses before and after, and the cost.
    public func run(_ settings: RecoverySettings, onIteration: (Int, Float) -> Void = { _, _ in }) throws -> RecoveryReport {
        precondition(settings.iterations >= 0, "iterations must be non-negative")
        let start = Date()
        var adapters = LowRankAdapters()
        let trainable: [(key: String, tensor: Tensor)]
        switch settings.method {
        case .lowRank(let rank, let alpha, let targets):
            adapters = try makeAdapters(rank: rank, alpha: alpha, targets: targets, seed: settings.seed)
            trainable = adapters.trainableParameters
        case .fullFineTune:
            // Every weight trains, so 16-bit ones are widened to float32 first (in place: the layers keep them).
            let parameters = student.parameters.parameters
            trainable = parameters.keys.sorted().compactMap { key in
                guard let tensor = parameters[key], tensor.count > 0 else { return nil }
                tensor.widenInPlace()
                return (key, tensor)
            }
        }
        let before = try evaluate(adapters: adapters)
        for parameter in trainable { parameter.tensor.requiresGradient = true }
        defer {
            if case .fullFineTune = settings.method { for parameter in trainable { parameter.tensor.requiresGradient = false } }
        }
        var optimizer = AdamW(groups: [
            ParameterGroup(name: "recovery", parameters: trainable, learningRate: settings.learningRate, weightDecay: settings.weightDecay)
        ])
        var generator = SeededGenerator(seed: settings.seed ^ 0xD157_1111)
        let pairs = pairs
        for iteration in 0..<settings.iterations {
            let pair = pairs[Int(generator.next() % UInt64(pairs.count))]
            let loss = try withGradients { try adapters.withActive { try stepLoss(prompt: pair.prompt, step: pair.step) } }
            loss.backward()
            optimizer.step()
            optimizer.zeroGradients()
            onIteration(iteration, loss.scalars()[0])
        }
        for parameter in trainable { parameter.tensor.zeroGradient() }
        let after = try evaluate(adapters: adapters)
        Self.merge(adapters, into: student.parameters.parameters)
        return RecoveryReport(
            method: settings.method.description, trainableParameters: trainable.reduce(0) { $0 + $1.tensor.count },
            iterations: settings.iterations, seconds: Date().timeIntervalSince(start), stepLossBefore: before.stepLoss,
            stepLossAfter: after.stepLoss, finalLatentMSEBefore: before.finalLatentMSE, finalLatentMSEAfter: after.finalLatentMSE)
    }

    /// Adds every adapter's `scale · B·A` to its weight, in place; a 16-bit weight is widened to `float32` first
    /// (``Tensor/widenInPlace()``), so a merged model is a `float32` model where it was adapted.
    public static func merge(_ adapters: LowRankAdapters, into parameters: [String: Tensor]) {
        withoutGradients {
            for (key, adapter) in adapters.byKey {
                guard let weight = parameters[key] else { continue }
                weight.widenInPlace()
                let delta = adapter.delta.contiguous()
                withExtendedLifetime(delta) {
                    let (target, source) = (weight.basePointer, delta.basePointer)
                    for index in 0..<weight.count { target[index] += source[index] }
                }
            }
        }
    }
}
