import Foundation
import PruneFlux
import PruneKit
import PruneNN
import PruneTensor
import PruneTestSupport
import Testing

/// LoRA and full fine-tune recovery of a pruned model by step-wise distillation from its original.
@Suite struct RecoveryTests {
    /// flux-tiny (teacher) and its magnitude-pruned export at 30% of the parameters (student), reloaded.
    static func teacherAndStudent() throws -> (teacher: any PrunableModel, student: any PrunableModel, cleanup: () -> Void) {
        let architecture = FluxArchitecture()
        let teacher = try architecture.load(directory: Fixtures.path("flux-tiny"))
        let scores = try MagnitudeCriterion().scores(
            in: ScoringContext(groups: teacher.unitGroups, parameters: teacher.parameters.parameters))
        let result = try PruningPlan(target: .parameters(0.3)).select(
            scores: scores, groups: teacher.unitGroups, shapes: teacher.parameters.parameters.mapValues(\.shape))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("recovery-\(UUID().uuidString)").path
        try teacher.exportPruned(selection: result.selection, to: directory)
        let student = try architecture.load(directory: directory)
        return (teacher, student, { try? FileManager.default.removeItem(atPath: directory) })
    }

    static let settings = TrajectorySettings(scheduler: .fluxSchnell, steps: 2, guidanceScale: 0, height: 64, width: 64)

    @Test("a LoRA adapter with zero B leaves a linear layer unchanged, and merging reproduces the adapted layer")
    func loraMergeMatchesAdaptedLayer() throws {
        let store = ParameterStore(randomSeed: 1)
        let layer = Linear(store.root, inFeatures: 6, outFeatures: 5)
        let x = Tensor.randomNormal([3, 6], seed: 2)
        var adapters = LowRankAdapters()
        let adapter = LowRankAdapter(weightShape: [5, 6], rank: 2, alpha: 4, seed: 3)
        adapters.add(adapter, key: "weight", weight: layer.weight)
        let plain = withoutGradients { layer(x) }
        #expect(maximumRelativeError(adapters.withActive { withoutGradients { layer(x) } }, plain) == 0)

        let up = Tensor.randomNormal([5, 2], seed: 4)
        for index in 0..<up.count { adapter.up.basePointer[index] = up.basePointer[index] }
        let adapted = adapters.withActive { withoutGradients { layer(x) } }
        #expect(maximumRelativeError(adapted, plain) > 1e-3)
        DistillationRecovery.merge(adapters, into: ["weight": layer.weight])
        #expect(maximumRelativeError(withoutGradients { layer(x) }, adapted) < 1e-5)
    }

    @Test("LoRA and full fine-tuning both lower the pruned model's distillation loss, and the merged model keeps the gain",
          arguments: [(RecoveryMethod.lowRank(rank: 4, alpha: 4), Float(1e-2)), (.fullFineTune, Float(1e-4))])
    func recoveryLowersLoss(_ method: RecoveryMethod, learningRate: Float) throws {
        let (teacher, student, cleanup) = try Self.teacherAndStudent()
        defer { cleanup() }
        let prompts = teacher.randomConditioning(count: 2, seed: 9)
        let recovery = try DistillationRecovery(teacher: teacher, student: student, prompts: prompts, settings: Self.settings, seed: 9)
        var losses: [Float] = []
        let report = try recovery.run(
            RecoverySettings(method: method, iterations: 24, learningRate: learningRate, seed: 3)) { _, loss in losses.append(loss) }
        #expect(losses.count == 24 && losses.allSatisfy(\.isFinite))
        #expect(report.stepLossAfter < 0.7 * report.stepLossBefore)
        #expect(report.finalLatentMSEAfter < report.finalLatentMSEBefore)
        #expect(report.trainableParameters > 0)
        let merged = try recovery.evaluate()
        #expect(abs(merged.stepLoss - report.stepLossAfter) <= 1e-4 * max(report.stepLossAfter, 1e-6) + 1e-7)
    }
}

/// Step distillation: a 2-step student of a 4-step teacher, both the same model at the start.
@Suite struct StepDistillationTests {
    @Test("a 2-step student distilled from a 4-step teacher ends closer to the teacher's final latents")
    func twoStepStudent() throws {
        let architecture = FluxArchitecture()
        let teacher = try architecture.load(directory: Fixtures.path("flux-tiny"))
        let student = try architecture.load(directory: Fixtures.path("flux-tiny"))
        let settings = TrajectorySettings(scheduler: .fluxSchnell, steps: 4, guidanceScale: 0, height: 64, width: 64)
        var studentSettings = settings
        studentSettings.steps = 2
        let distillation = try DistillationRecovery(
            teacher: teacher, student: student, prompts: teacher.randomConditioning(count: 1, seed: 5), settings: settings,
            studentSettings: studentSettings, seed: 5)
        #expect(distillation.teacherStepsPerStudentStep == 2)
        let report = try distillation.run(RecoverySettings(method: .fullFineTune, iterations: 24, learningRate: 1e-3, seed: 1))
        #expect(report.finalLatentMSEAfter < 0.8 * report.finalLatentMSEBefore)

        studentSettings.steps = 3
        #expect(throws: PrunableModelError.badSetting("the student's 3 steps must divide the teacher's 4 steps")) {
            try DistillationRecovery(
                teacher: teacher, student: student, prompts: teacher.randomConditioning(count: 1, seed: 5), settings: settings,
                studentSettings: studentSettings, seed: 5)
        }
    }
}
