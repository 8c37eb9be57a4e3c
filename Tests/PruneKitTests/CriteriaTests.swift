import Foundation
import PruneKit
import PruneNN
import PruneSDXL
import PruneTensor
import PruneTestSupport
import Testing

/// Pruning criteria: the registry, data-free scores checked by hand, and data-driven scores on sdxl-tiny.
@Suite struct CriteriaTests {
    /// One two-head module: `q` `[4, 3]` holds 1…12 (head h owns rows 2h, 2h+1), `o` `[3, 4]` is all ones
    /// (head h owns columns 2h, 2h+1).
    static func tinyContext(seed: UInt64 = 0) -> ScoringContext {
        let group = UnitGroup(
            moduleKey: "block.attn1", kind: .attentionHead, unitCount: 2,
            slices: [ParameterSlice(key: "block.attn1.q", axis: 0, width: 2), ParameterSlice(key: "block.attn1.o", axis: 1, width: 2)])
        let q = Tensor((1...12).map { Float($0) * ($0 % 2 == 0 ? -1 : 1) }, shape: [4, 3])
        let o = Tensor([Float](repeating: 1, count: 12), shape: [3, 4])
        return ScoringContext(groups: [group], parameters: ["block.attn1.q": q, "block.attn1.o": o], seed: seed)
    }

    @Test("Magnitude L1 and L2 match a hand computation over all of a unit's slices")
    func magnitudeByHand() throws {
        let context = Self.tinyContext()
        // Head 0: |1…6| sums to 21, plus six ones = 27; head 1: |7…12| sums to 57, plus 6 = 63.
        let l1 = try MagnitudeCriterion(norm: .l1).scores(in: context)
        #expect(l1["block.attn1"] == [27, 63])
        // Head 0: 1²+…+6² = 91, plus 6 = 97; head 1: 7²+…+12² = 559, plus 6 = 565.
        let l2 = try MagnitudeCriterion(norm: .l2).scores(in: context)
        let expected: [Float] = [Float(97).squareRoot(), Float(565).squareRoot()]
        #expect(zip(l2["block.attn1"]!, expected).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    @Test("A slice that names a missing parameter is a typed error naming the module")
    func magnitudeMissingParameter() throws {
        var context = Self.tinyContext()
        context.parameters["block.attn1.o"] = nil
        #expect(throws: CriterionError.missingParameter(key: "block.attn1.o", module: "block.attn1")) {
            try MagnitudeCriterion().scores(in: context)
        }
    }

    @Test("Random scores are reproducible from a seed and differ across seeds")
    func randomSeeded() throws {
        let first = try RandomCriterion().scores(in: Self.tinyContext(seed: 9))
        #expect(try RandomCriterion().scores(in: Self.tinyContext(seed: 9)) == first)
        #expect(try RandomCriterion().scores(in: Self.tinyContext(seed: 10)) != first)
        #expect(first["block.attn1"]!.allSatisfy { $0 >= 0 && $0 < 1 })
    }

    @Test("The registry lists and finds all five built-ins and rejects unknown names with the list")
    func registry() throws {
        let registry = CriterionRegistry.withBuiltIns()
        #expect(registry.names == ["magnitude", "random", "taylor", "activation", "ecodiff"])
        for name in registry.names { #expect(try registry.criterion(named: name).name == name) }
        #expect(registry.all.allSatisfy { !$0.summary.isEmpty })
        #expect(throws: CriterionError.unknownCriterion(name: "hessian", known: registry.names)) {
            try registry.criterion(named: "hessian")
        }
        let message = CriterionError.unknownCriterion(name: "hessian", known: registry.names).description
        #expect(message.contains("magnitude, random, taylor, activation, ecodiff"))
    }

    struct ConstantCriterion: PruningCriterion {
        var name: String { "constant" }
        var summary: String { "every unit scores 1" }
        func scores(in context: ScoringContext) throws -> UnitScores {
            UnitScores(Dictionary(uniqueKeysWithValues: context.groups.map { ($0.moduleKey, [Float](repeating: 1, count: $0.unitCount)) }))
        }
    }

    @Test("New criteria register at run time; a second one under the same name needs replacing")
    func registerAtRunTime() throws {
        let registry = CriterionRegistry.withBuiltIns()
        try registry.register(ConstantCriterion())
        #expect(registry.names.last == "constant")
        #expect(try registry.criterion(named: "constant").scores(in: Self.tinyContext())["block.attn1"] == [1, 1])
        #expect(throws: CriterionError.duplicateCriterion("constant")) { try registry.register(ConstantCriterion()) }
        try registry.register(ConstantCriterion(), replacing: true)
        #expect(registry.names.filter { $0 == "constant" }.count == 1)
    }

    @Test("Data-driven criteria without calibration samples throw a typed error")
    func needCalibration() throws {
        for criterion in [TaylorCriterion(), ActivationCriterion(), EcoDiffCriterion()] as [any PruningCriterion] {
            #expect(throws: CriterionError.missingCalibration(criterion: criterion.name)) {
                try criterion.scores(in: Self.tinyContext())
            }
        }
    }

    /// sdxl-tiny unrolled for 2 steps at a 4 × 4 latent, with its unit groups and frozen parameters.
    static func sdxlContext() throws -> ScoringContext {
        let fixture = try ObjectiveFixtures.sdxl(steps: 2)
        let (unet, store) = try UNet2DConditionModel.load(directory: Fixtures.path("sdxl-tiny"))
        store.setRequiresGradient(false)
        let sample = try CalibrationSample(trajectory: fixture.trajectory, noise: fixture.noise)
        return ScoringContext(groups: unet.unitGroups, parameters: store.parameters, samples: [sample], seed: 3)
    }

    static func expectShapes(_ scores: UnitScores, _ groups: [UnitGroup]) {
        #expect(Set(scores.byModule.keys) == Set(groups.map(\.moduleKey)))
        for group in groups {
            #expect(scores[group.moduleKey]?.count == group.unitCount)
            #expect(scores[group.moduleKey]?.allSatisfy(\.isFinite) == true)
        }
    }

    @Test("Taylor on sdxl-tiny (2 steps) gives finite, non-negative, not all-zero scores of the right shapes")
    func taylorOnFixture() throws {
        let context = try Self.sdxlContext()
        var steps: [String] = []
        var progressing = context
        progressing.progress = { steps.append($0.message) }
        let scores = try TaylorCriterion().scores(in: progressing)
        Self.expectShapes(scores, context.groups)
        let all = scores.byModule.values.flatMap { $0 }
        #expect(all.allSatisfy { $0 >= 0 })
        #expect(all.contains { $0 > 0 })
        // The last step lands exactly on the target (L = 0 < 0.05·L_max), so the rule stops there.
        #expect(steps.last?.contains("stopping") == true)
        print("taylor steps: \(steps)")
    }

    @Test("Activation on sdxl-tiny (2 steps) gives finite, positive scores of the right shapes")
    func activationOnFixture() throws {
        let context = try Self.sdxlContext()
        let scores = try ActivationCriterion().scores(in: context)
        Self.expectShapes(scores, context.groups)
        #expect(scores.byModule.values.flatMap { $0 }.allSatisfy { $0 > 0 })
    }

    @Test("EcoDiff's mask learning resumes in the library: a run stopped after a step and resumed ends with the uninterrupted λ")
    func ecodiffResumesInTheLibrary() throws {
        struct Stop: Error {}
        let context = try Self.sdxlContext()
        let criterion = EcoDiffCriterion(
            parametrization: .sigmoid, objective: EcoDiffObjective(penalty: .l1Lambda, penaltyWeight: 0.5),
            schedule: MaskTrainingSchedule(epochs: 3, accumulationSteps: 1), initialValue: 0)
        let whole = try criterion.learnLambdas(in: context)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ecodiff-resume-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        func checkpointing(resume: Bool, run: String = "a") -> EcoDiffCheckpointing {
            EcoDiffCheckpointing(path: path, everySteps: 1, resume: resume, identity: ["run": run])
        }
        #expect(throws: Stop.self) {
            try criterion.learnLambdas(in: context, checkpointing: checkpointing(resume: false)) { if $0.iteration == 2 { throw Stop() } }
        }
        let saved = try EcoDiffCheckpoint.load(path: path, expecting: ["run": "a"])
        #expect(saved.nextEpoch == 1 && saved.nextPrompt == 0 && saved.optimizer.stepCount == 1, "the state after the first step")
        #expect(throws: EcoDiffCheckpointError.self) { try criterion.learnLambdas(in: context, checkpointing: checkpointing(resume: true, run: "b")) }
        var iterations: [Int] = []
        let resumed = try criterion.learnLambdas(in: context, checkpointing: checkpointing(resume: true)) { iterations.append($0.iteration) }
        #expect(iterations == [2, 3])
        #expect(resumed == whole)
        #expect(!FileManager.default.fileExists(atPath: path), "a finished run removes its checkpoint")
    }

    @Test("EcoDiff with one tiny training iteration scores units by their raw λ, clamped only for the kinds asked")
    func ecodiffOnFixture() throws {
        let context = try Self.sdxlContext()
        let criterion = EcoDiffCriterion(
            parametrization: .sigmoid, objective: EcoDiffObjective(penalty: .l1Lambda, penaltyWeight: 0.5),
            schedule: MaskTrainingSchedule(epochs: 1, accumulationSteps: 1), initialValue: 0)
        let scores = try criterion.scores(in: context)
        Self.expectShapes(scores, context.groups)
        let all = scores.byModule.values.flatMap { $0 }
        // One AdamW step of lr 0.1 from λ = 0 moves every λ by about ±0.1.
        #expect(all.contains { $0 != 0 })
        #expect(all.allSatisfy { abs($0) <= 0.11 })
        // Given λ are scored without training: raw by default (so a target orders even negative λ), clamped
        // at 0 for the kinds in clampedKinds.
        let lambdas = Dictionary(
            uniqueKeysWithValues: context.groups.map { group in (group.moduleKey, (0..<group.unitCount).map { -1 - Float($0) }) })
        let raw = try EcoDiffCriterion(lambdas: lambdas).scores(in: ScoringContext(groups: context.groups, parameters: [:]))
        let clamped = try EcoDiffCriterion(clampedKinds: [.feedForwardNeuron], lambdas: lambdas)
            .scores(in: ScoringContext(groups: context.groups, parameters: [:]))
        for group in context.groups {
            #expect(raw[group.moduleKey]! == lambdas[group.moduleKey]!)
            #expect(clamped[group.moduleKey]! == (group.kind == .feedForwardNeuron ? [Float](repeating: 0, count: group.unitCount) : lambdas[group.moduleKey]!))
        }
    }
}

/// Which criteria need calibration trajectories, as declared by the criteria themselves.
@Suite struct CriterionCalibrationNeedsTests {
    @Test("Magnitude and random are data-free; taylor, activation and ecodiff need calibration")
    func calibrationNeeds() throws {
        let registry = CriterionRegistry.withBuiltIns()
        let needs = Dictionary(uniqueKeysWithValues: registry.all.map { ($0.name, $0.requiresCalibration) })
        #expect(needs == ["magnitude": false, "random": false, "taylor": true, "activation": true, "ecodiff": true])
    }
}
