import Foundation
import PruneKit
import PruneNN
import PruneTensor
import PruneTestSupport
import Testing

@testable import prunekit

/// A mask-learning criterion that is not EcoDiff, registered at run time the way a plugin or an SDK user adds
/// one: σ(λ) masks trained by the shared ``MaskTrainer`` from the options the CLI puts in every
/// ``ScoringContext``. It records what it received and can stop its run after an iteration (a stand-in for an
/// interrupted process).
final class RecordingMaskCriterion: PruningCriterion, @unchecked Sendable {
    struct Received {
        var architecture: String?
        var epochs: Int?
        var learningRate: Float?
        var penaltyWeight: Float?
        var checkpointing: MaskTrainingCheckpointing?
    }

    let lock = NSLock()
    private var _received: [Received] = []
    private var _stopAfter: Int?
    var received: [Received] { lock.withLock { _received } }
    var stopAfter: Int? {
        get { lock.withLock { _stopAfter } }
        set { lock.withLock { _stopAfter = newValue } }
    }

    struct Stop: Error {}

    var name: String { "test-recording-masks" }
    var summary: String { "σ(λ) masks learned by the shared trainer (CLI test criterion)" }
    var trainsMasks: Bool { true }

    func scores(in context: ScoringContext) throws -> UnitScores {
        lock.withLock {
            _received.append(
                Received(
                    architecture: context.model?.architectureName, epochs: context.training.epochs, learningRate: context.training.learningRate,
                    penaltyWeight: context.training.penaltyWeight, checkpointing: context.training.checkpointing))
        }
        var context = context
        let report = context.training.onIteration
        let stop = stopAfter
        context.training.onIteration = { iteration in
            try report(iteration)
            if iteration.iteration == stop { throw Stop() }
        }
        let masks = MaskSet(groups: context.groups, parametrization: .sigmoid, initialValue: 0)
        var trainer = MaskTrainer(
            masks: masks, objective: EcoDiffObjective(penalty: .l1Lambda, penaltyWeight: context.training.penaltyWeight ?? 0.5),
            optimizer: MaskTrainer.optimizer(for: masks, learningRates: [:], defaultLearningRate: context.training.learningRate ?? 0.1),
            schedule: MaskTrainingSchedule(epochs: context.training.epochs ?? 1, accumulationSteps: 1, seed: context.seed))
        return UnitScores(try context.trainMasks(&trainer, criterion: name))
    }
}

/// `prunekit prune` configures any criterion the same way — the model, epochs, learning rate, β, checkpoints and
/// resume — with no EcoDiff-only code path.
@Suite(.serialized) struct CriterionOptionsCLITests {
    /// Runs `arguments` with the built-ins and `criterion` as the registry (the shared one stays untouched).
    static func run(_ arguments: [String], with criterion: RecordingMaskCriterion) throws {
        let registry = CriterionRegistry.withBuiltIns()
        try registry.register(criterion)
        try CriterionRegistry.$current.withValue(registry) { try CLITests.run(arguments) }
    }

    static func arguments(out: String) -> [String] {
        [
            "prune", "--model", Fixtures.path("flux-tiny"), "--criterion", "test-recording-masks", "--target", "0.3",
            "--embeddings", Fixtures.path("flux-tiny/sampling.safetensors"), "--preset", "flux-schnell", "--steps", "2",
            "--height", "64", "--width", "64", "--epochs", "4", "--learning-rate", "0.2", "--penalty-weight", "0.05",
            "--checkpoint-every", "1", "--out", out,
        ]
    }

    @Test("a criterion other than EcoDiff gets the model and the CLI's training options, and an interrupted run resumes to the same masks")
    func nonEcoDiffCriterionIsConfiguredAndResumes() throws {
        let criterion = RecordingMaskCriterion()
        let directory = CLITests.temporaryPath("criterion-options")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        criterion.stopAfter = nil
        let reference = directory + "/reference"
        try Self.run(Self.arguments(out: reference), with: criterion)
        let first = try #require(criterion.received.last)
        #expect(first.architecture == "FluxTransformer2DModel")
        #expect(first.epochs == 4 && first.learningRate == 0.2 && first.penaltyWeight == 0.05)
        #expect(first.checkpointing?.path == EcoDiffCheckpoint.defaultPath(forOutput: reference) && first.checkpointing?.everySteps == 1)
        #expect(first.checkpointing?.resume == false)
        #expect(!FileManager.default.fileExists(atPath: EcoDiffCheckpoint.defaultPath(forOutput: reference)), "a finished run removes its checkpoint")

        let interrupted = directory + "/interrupted"
        let checkpoint = EcoDiffCheckpoint.defaultPath(forOutput: interrupted)
        criterion.stopAfter = 3
        #expect(throws: RecordingMaskCriterion.Stop.self) { try Self.run(Self.arguments(out: interrupted), with: criterion) }
        #expect(FileManager.default.fileExists(atPath: checkpoint), "the snapshot after the second step stays")
        #expect(!FileManager.default.fileExists(atPath: interrupted), "a stopped run leaves no output directory")
        let registry = CriterionRegistry.withBuiltIns()
        try registry.register(criterion)
        let identity = try CriterionRegistry.$current.withValue(registry) {
            try PruneCommand.parse(Array(Self.arguments(out: interrupted).dropFirst())).checkpointing.identity
        }
        let saved = try EcoDiffCheckpoint.load(path: checkpoint, expecting: identity)
        #expect(saved.nextEpoch == 2 && saved.optimizer.stepCount == 2)

        criterion.stopAfter = nil
        try Self.run(Self.arguments(out: interrupted) + ["--resume"], with: criterion)
        #expect(criterion.received.last?.checkpointing?.resume == true)
        #expect(!FileManager.default.fileExists(atPath: checkpoint))
        let expected = try SafetensorsFile.open(reference + "/masks.safetensors")
        let resumed = try SafetensorsFile.open(interrupted + "/masks.safetensors")
        #expect(expected.keys == resumed.keys && !expected.keys.isEmpty)
        for key in expected.keys {
            #expect(try expected.tensor(key).scalars() == resumed.tensor(key).scalars(), "\(key)")
        }

        // A data-free criterion gets the same context and ignores the training options; no checkpoint is claimed.
        let magnitude = directory + "/magnitude"
        try Self.run(
            ["prune", "--model", Fixtures.path("flux-tiny"), "--criterion", "magnitude", "--target", "0.3", "--epochs", "4", "--out", magnitude],
            with: criterion)
        #expect(!FileManager.default.fileExists(atPath: EcoDiffCheckpoint.defaultPath(forOutput: magnitude)))
    }
}
