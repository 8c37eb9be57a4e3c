import Foundation
import PruneKit
import PruneNN
import PruneTensor
import Testing

/// A mask-learning criterion written outside PruneKit, as a plugin author or SDK user would register it: σ(λ)
/// masks started at ½, an L1 penalty on λ, one learning rate, all read from the ``ScoringContext`` (the
/// model's unit count for the penalty's scale, the caller's ``MaskTrainingOptions``), and trained by the shared
/// ``MaskTrainer`` through ``ScoringContext/trainMasks(_:criterion:)`` — so snapshots and resume come for free.
struct SigmoidMaskCriterion: PruningCriterion {
    var name: String { "test-sigmoid-masks" }
    var summary: String { "σ(λ) masks learned end to end by the shared trainer (test criterion)" }
    var trainsMasks: Bool { true }

    func scores(in context: ScoringContext) throws -> UnitScores {
        guard let model = context.model else { throw CriterionError.missingCalibration(criterion: name) }
        let masks = MaskSet(groups: model.unitGroups, parametrization: .sigmoid, initialValue: 0)
        let units = Float(model.unitGroups.reduce(0) { $0 + $1.unitCount })
        var trainer = MaskTrainer(
            masks: masks, objective: EcoDiffObjective(penalty: .l1Lambda, penaltyWeight: (context.training.penaltyWeight ?? 1) / units),
            optimizer: MaskTrainer.optimizer(for: masks, learningRates: [:], defaultLearningRate: context.training.learningRate ?? 0.05),
            schedule: MaskTrainingSchedule(epochs: context.training.epochs ?? 2, accumulationSteps: 1, seed: context.seed))
        return UnitScores(try context.trainMasks(&trainer, criterion: name))
    }
}

@Suite struct MaskTrainingCriterionTests {
    @Test("a third-party criterion gets the model, trains with the shared trainer, and a stopped run resumes to the uninterrupted λ")
    func thirdPartyCriterionResumes() throws {
        struct Stop: Error {}
        let registry = ArchitectureRegistry()
        try registry.register(ToyArchitecture())
        let model = try registry.makeModel(preset: "toy-8x32", seed: 5)
        let samples = try model.calibrationSamples(prompts: model.randomConditioning(count: 2, seed: 1), settings: TrajectorySettings(), seed: 1)
        let criterion = SigmoidMaskCriterion()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("third-party-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        func context(resume: Bool? = nil, run: String = "a", onIteration: @escaping (MaskTrainingIteration) throws -> Void = { _ in }) -> ScoringContext {
            ScoringContext(
                model: model, calibration: samples, seed: 9,
                training: MaskTrainingOptions(
                    epochs: 3, learningRate: 0.2, penaltyWeight: 0.5,
                    checkpointing: resume.map { MaskTrainingCheckpointing(path: path, everySteps: 1, resume: $0, identity: ["run": run]) },
                    onIteration: onIteration))
        }

        var progress: [MaskTrainingIteration] = []
        let whole = try criterion.scores(in: context { progress.append($0) })
        #expect(progress.map(\.iteration) == Array(1...6) && progress.allSatisfy { $0.total == 6 && $0.loss.isFinite })
        #expect(whole["ffn"]?.contains { abs($0) > 1e-3 } == true, "training moved λ away from its start")

        #expect(throws: Stop.self) { try criterion.scores(in: context(resume: false) { if $0.iteration == 3 { throw Stop() } }) }
        let saved = try MaskTrainingCheckpoint.load(path: path, expecting: ["run": "a"])
        #expect(saved.nextEpoch == 1 && saved.nextPrompt == 0 && saved.optimizer.stepCount == 2, "the state after two optimizer steps")
        #expect(throws: MaskTrainingCheckpointError.self) { try criterion.scores(in: context(resume: true, run: "b")) }

        var resumedIterations: [Int] = []
        let resumed = try criterion.scores(in: context(resume: true) { resumedIterations.append($0.iteration) })
        #expect(resumedIterations == [3, 4, 5, 6])
        #expect(resumed == whole)
        #expect(!FileManager.default.fileExists(atPath: path), "a finished run removes its checkpoint")
    }

    @Test("EcoDiff reads the model's settings and the caller's training options from the context")
    func ecodiffIsConfiguredByTheContext() throws {
        let registry = ArchitectureRegistry()
        try registry.register(ToyArchitecture())
        let model = try registry.makeModel(preset: "toy-8x32", seed: 5)
        let context = ScoringContext(
            model: model,
            training: MaskTrainingOptions(epochs: 7, learningRate: 0.3, penaltyWeight: 0.125, kindPenaltyWeights: [.attentionHead: 0.25]))
        let configured = EcoDiffCriterion(parametrization: .sigmoid, objective: .flux).configured(for: context)
        #expect(configured.parametrization == model.ecoDiffSettings.parametrization)
        #expect(configured.objective.penalty == model.ecoDiffSettings.objective.penalty && configured.objective.penaltyWeight == 0.125)
        #expect(configured.objective.penaltyWeight(of: .attentionHead) == 0.25 && configured.objective.penaltyWeight(of: .feedForwardNeuron) == 0.125)
        #expect(configured.schedule.epochs == 7 && configured.learningRates.values.allSatisfy { $0 == 0.3 })
        let kept = EcoDiffCriterion(parametrization: .sigmoid, objective: .flux, adaptsToModel: false).configured(for: ScoringContext(model: model))
        #expect(kept.parametrization == .sigmoid && kept.objective == .flux && kept.schedule.epochs == MaskTrainingSchedule().epochs)
    }
}
