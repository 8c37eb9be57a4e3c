import Foundation
import PruneDemoTestSupport
import PruneTensor
import Testing

@testable import PruneDemo

@Suite("Demo training")
struct DemoTrainingTests {
    /// The loss on a fixed batch with fixed timesteps and noise.
    func fixedBatchLoss(_ trainer: DemoTrainer) throws -> Float {
        try withoutGradients {
            var generator = SeededGenerator(seed: 4242)
            let (prompts, images) = ShapesDataset(seed: 77).batch(0..<8)
            let conditioning = try trainer.model.encode(prompts.map(\.text))
            return try trainer.objective.loss(
                trainer.model.denoiser, latents: PixelUnshuffleCodec.encode(images), tokens: conditioning.tokens,
                pooled: conditioning.pooled, using: &generator
            ).item()
        }
    }

    func settings(_ architecture: DemoArchitecture, steps: Int) -> DemoTrainingSettings {
        var settings = DemoTrainingSettings(architecture: architecture, seed: 3, steps: steps)
        settings.batchSize = 8
        settings.learningRate = 3e-3
        settings.warmupSteps = 2
        return settings
    }

    @Test("a few training steps on a tiny model reduce the loss on a fixed batch", arguments: DemoArchitecture.allCases)
    func lossFalls(architecture: DemoArchitecture) throws {
        let trainer = try DemoTrainer(model: try TinyDemoModels.model(architecture), settings: settings(architecture, steps: 20))
        let before = try fixedBatchLoss(trainer)
        try trainer.run()
        let after = try fixedBatchLoss(trainer)
        #expect(trainer.step == 20 && trainer.lossHistory.count == 20)
        #expect(after < 0.85 * before, "loss \(before) → \(after)")
    }

    @Test("resuming from a checkpoint continues exactly as the uninterrupted run")
    func resume() throws {
        let path = NSTemporaryDirectory() + "demo-checkpoint-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let straight = try DemoTrainer(model: try TinyDemoModels.model(.flux), settings: settings(.flux, steps: 4))
        try straight.run()

        let first = try DemoTrainer(model: try TinyDemoModels.model(.flux), settings: settings(.flux, steps: 2))
        try first.run()
        try first.saveCheckpoint(to: path)
        let second = try DemoTrainer(model: try TinyDemoModels.model(.flux), settings: settings(.flux, steps: 4))
        try second.loadCheckpoint(from: path)
        #expect(second.step == 2)
        try second.run()

        #expect(second.lossHistory == straight.lossHistory)
        for ((key, a), (_, b)) in zip(straight.parameters, second.parameters) {
            #expect(a.scalars() == b.scalars(), "\(key)")
            #expect(straight.ema.shadows[key]!.scalars() == second.ema.shadows[key]!.scalars(), "EMA \(key)")
        }
    }

    @Test("a checkpoint of another seed or architecture is refused with the reason")
    func mismatchedCheckpoint() throws {
        let path = NSTemporaryDirectory() + "demo-checkpoint-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let trainer = try DemoTrainer(model: try TinyDemoModels.model(.flux), settings: settings(.flux, steps: 1))
        try trainer.saveCheckpoint(to: path)
        var other = settings(.flux, steps: 1)
        other.seed = 4
        let mismatched = try DemoTrainer(model: try TinyDemoModels.model(.flux), settings: other)
        do {
            try mismatched.loadCheckpoint(from: path)
            Issue.record("loading a checkpoint of another seed should fail")
        } catch {
            #expect("\(error)".contains("seed 3"))
        }
    }

    @Test("the learning rate warms up linearly and decays by cosine to the final fraction")
    func schedule() {
        var settings = DemoTrainingSettings(architecture: .flux, seed: 0, steps: 1100)
        settings.warmupSteps = 100
        #expect(abs(settings.learningRate(atStep: 0) - 1e-5) < 1e-9)
        #expect(abs(settings.learningRate(atStep: 99) - 1e-3) < 1e-9)
        #expect(abs(settings.learningRate(atStep: 600) - 1e-3 * 0.55) < 1e-7)
        #expect(abs(settings.learningRate(atStep: 1100) - 1e-4) < 1e-9)
    }

    @Test("gradient clipping scales the joint norm down to the limit and leaves small gradients alone")
    func clipping() {
        let a = Tensor.zeros([2])
        let b = Tensor.zeros([1])
        a.gradient = Tensor([3, 0], shape: [2])
        b.gradient = Tensor([4], shape: [1])
        let norm = GradientClipping.clip([("a", a), ("b", b)], maxNorm: 1)
        #expect(abs(norm - 5) < 1e-6)
        #expect(abs(a.gradient!.scalars()[0] - 0.6) < 1e-5 && abs(b.gradient!.scalars()[0] - 0.8) < 1e-5)
        GradientClipping.clip([("a", a), ("b", b)], maxNorm: 10)
        #expect(abs(b.gradient!.scalars()[0] - 0.8) < 1e-5)
    }

    @Test("the EMA follows the warm-up decay")
    func ema() {
        let p = Tensor([0], shape: [1])
        let average = ExponentialMovingAverage(parameters: [("p", p)], decay: 0.999)
        p.assign(Tensor([1], shape: [1]))
        average.update(parameters: [("p", p)], step: 1)
        // d₁ = min(0.999, 2/11): e = 2/11·0 + 9/11·1.
        #expect(abs(average.shadows["p"]!.item() - 9.0 / 11.0) < 1e-6)
        #expect(average.decay(afterStep: 100_000) == 0.999)
    }
}
