import Foundation
import PruneFlux
import PruneKit
import PruneNN
import PruneTensor
import Testing

/// The mask-learning loop: accumulation, optimizer steps, seeding and resuming, on flux-tiny (2 steps).
@Suite struct ObjectiveTrainingTests {
    /// flux-tiny unrolled for two steps with `count` prompts (the fixture's noise, then seeded draws).
    static func samples(_ count: Int) throws -> (ObjectiveCase<FluxSampler>, [CalibrationSample<FluxSampler>]) {
        let fixture = try ObjectiveFixtures.flux(steps: 2)
        let samples = try (0..<count).map { index in
            try CalibrationSample(
                trajectory: fixture.trajectory,
                noise: index == 0 ? fixture.noise : Tensor.randomNormal(fixture.noise.shape, seed: UInt64(index)))
        }
        return (fixture, samples)
    }

    @Test("Without a penalty, learning cuts the reconstruction error of σ(λ) masks started at ½ fourfold")
    func reconstructionImproves() throws {
        let (fixture, samples) = try Self.samples(1)
        let masks = MaskSet(modules: fixture.modules, parametrization: .sigmoid, initialValue: 0)
        var trainer = MaskTrainer(
            masks: masks, objective: EcoDiffObjective(penalty: .l1Lambda, penaltyWeight: 0),
            optimizer: MaskTrainer.optimizer(for: masks, learningRates: MaskTrainer.sdxlLearningRates),
            schedule: MaskTrainingSchedule(epochs: 15, accumulationSteps: 1, seed: 1))
        let means = try trainer.train(samples)
        print("reconstruction by epoch: \(means.map(\.reconstruction))")
        #expect(means.count == 15)
        #expect(means.last!.reconstruction < 0.25 * means.first!.reconstruction)
    }

    @Test("The optimizer steps after every full accumulation batch and at the end of each epoch")
    func accumulationSchedule() throws {
        let (fixture, samples) = try Self.samples(5)
        let masks = MaskSet(modules: fixture.modules, parametrization: .hardConcrete(.flux))
        var trainer = MaskTrainer(
            masks: masks, objective: .flux, optimizer: MaskTrainer.optimizer(for: masks, learningRates: MaskTrainer.fluxLearningRates),
            schedule: MaskTrainingSchedule(epochs: 2, accumulationSteps: 2, seed: 3))
        var stepped: [Bool] = []
        try trainer.train(samples) { stepped.append($0.optimizerStepped) }
        #expect(stepped == [false, true, false, true, true, false, true, false, true, true])
        #expect(trainer.optimizer.stepCount == 6)
        #expect(masks.lambdas.values.allSatisfy { $0.gradient == nil })
        // Mostly saturated gates at λ = 3 see the penalty and the weight decay: λ falls on average.
        let lambdas = flattened(masks.lambdas, modules: fixture.modules)
        print("λ after 6 steps: mean \(lambdas.reduce(0, +) / Float(lambdas.count)), range \(lambdas.min()!)…\(lambdas.max()!)")
        #expect(lambdas.reduce(0, +) / Float(lambdas.count) < 3)
    }

    @Test("Per-kind learning rates: heads and neurons get their own parameter groups")
    func parameterGroups() throws {
        let (fixture, _) = try Self.samples(0)
        let masks = MaskSet(modules: fixture.modules, parametrization: .hardConcrete(.flux))
        let optimizer = MaskTrainer.optimizer(for: masks, learningRates: MaskTrainer.fluxLearningRates)
        #expect(optimizer.groups.map(\.name) == ["head", "neuron"])
        #expect(optimizer.groups.map(\.learningRate) == [0.5, 0.1])
        #expect(optimizer.groups.allSatisfy { $0.weightDecay == 0.01 })
        #expect(optimizer.groups[0].parameters.map(\.key) == masks.lambdas(of: .attentionHead).map(\.key))
        #expect(Set(optimizer.parameterKeys) == Set(fixture.modules.map(\.key)))
    }

    @Test("The same seed learns bit-identical λ; another seed draws other mask noise")
    func seeded() throws {
        let (fixture, samples) = try Self.samples(2)
        func run(seed: UInt64) throws -> [Float] {
            let masks = MaskSet(modules: fixture.modules, parametrization: .hardConcrete(.flux), initialValue: 0.5)
            var trainer = MaskTrainer(
                masks: masks, objective: .flux, optimizer: MaskTrainer.optimizer(for: masks, learningRates: MaskTrainer.fluxLearningRates),
                schedule: MaskTrainingSchedule(epochs: 1, accumulationSteps: 1, seed: seed))
            try trainer.train(samples)
            return flattened(masks.lambdas, modules: fixture.modules)
        }
        let first = try run(seed: 5)
        #expect(try run(seed: 5) == first)
        #expect(try run(seed: 6) != first)
    }

    @Test("Resuming from saved λ and optimizer state at an epoch boundary reproduces the uninterrupted run")
    func resume() throws {
        let (fixture, samples) = try Self.samples(3)
        let schedule = MaskTrainingSchedule(epochs: 2, accumulationSteps: 2, seed: 8)
        func trainer(_ masks: MaskSet) -> MaskTrainer {
            MaskTrainer(
                masks: masks, objective: .flux, optimizer: MaskTrainer.optimizer(for: masks, learningRates: MaskTrainer.fluxLearningRates),
                schedule: schedule)
        }
        let uninterrupted = MaskSet(modules: fixture.modules, parametrization: .hardConcrete(.flux), initialValue: 0.5)
        var whole = trainer(uninterrupted)
        try whole.train(samples)

        let first = MaskSet(modules: fixture.modules, parametrization: .hardConcrete(.flux), initialValue: 0.5)
        var firstHalf = trainer(first)
        firstHalf.schedule.epochs = 1
        try firstHalf.train(samples)
        // Round-trip through a safetensors file, as a checkpoint would.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("masks-resume-\(UUID()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let state = firstHalf.optimizer.state
        var tensors = state.tensors
        for (key, lambda) in first.lambdas { tensors["lambda." + key] = lambda }
        try SafetensorsWriter.write(tensors, metadata: ["optimizer_step": String(state.stepCount)], to: path)

        let file = try SafetensorsFile.open(path)
        let resumed = MaskSet(modules: fixture.modules, parametrization: .hardConcrete(.flux))
        try resumed.assign(Dictionary(uniqueKeysWithValues: try fixture.modules.map { ($0.key, try file.tensor("lambda." + $0.key)) }))
        var secondHalf = trainer(resumed)
        var moments: [String: Tensor] = [:]
        for key in file.keys where !key.hasPrefix("lambda.") { moments[key] = try file.tensor(key) }
        try secondHalf.optimizer.load(AdamWState(stepCount: Int(file.metadata["optimizer_step"]!)!, tensors: moments))
        try secondHalf.train(samples, fromEpoch: 1)

        #expect(secondHalf.optimizer.stepCount == whole.optimizer.stepCount)
        #expect(flattened(resumed.lambdas, modules: fixture.modules) == flattened(uninterrupted.lambdas, modules: fixture.modules))
    }
}
