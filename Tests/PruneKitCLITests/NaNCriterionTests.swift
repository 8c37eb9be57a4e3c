import Foundation
import PruneKit
import PruneTensor
import PruneTestSupport
import Testing

@testable import prunekit

/// NaN scores are stopped by the plan with an error naming the module and unit — from a criterion object
/// through the library, and through `prunekit prune` from a corrupted checkpoint (magnitude) or NaN calibration
/// embeddings (taylor, activation); nothing is exported. (The CLI tests use built-in criteria: registering a
/// test criterion in the process-wide registry would change what `prunekit criteria` lists for other tests.)
@Suite struct NaNCriterionTests {
    /// Scores every unit 1, except unit 1 of the module `poisoned`, which gets NaN.
    struct NaNScoringCriterion: PruningCriterion {
        var name = "test-nan-scores"
        var summary = "scores one unit NaN (a broken criterion, for the tests)"
        var requiresCalibration: Bool { false }
        var poisoned: String

        func scores(in context: ScoringContext) throws -> UnitScores {
            var scores = UnitScores()
            for group in context.groups {
                var values = [Float](repeating: 1, count: group.unitCount)
                if group.moduleKey == poisoned { values[1] = .nan }
                scores[group.moduleKey] = values
            }
            return scores
        }
    }

    /// A module of the fixture with at least two units, the one the criterion poisons.
    static func poisonedModule(of fixture: String) throws -> String {
        let model = try Architectures.loadModel(directory: Fixtures.path(fixture))
        return try #require(model.unitGroups.filter { $0.unitCount >= 2 }.map(\.moduleKey).sorted().last)
    }

    @Test("the plan rejects the NaN score of a real model's module, naming it and the unit")
    func planRejectsNaN() throws {
        let model = try Architectures.loadModel(directory: Fixtures.path("flux-small"))
        let module = try Self.poisonedModule(of: "flux-small")
        let context = ScoringContext(groups: model.unitGroups, parameters: model.parameters.parameters)
        let scores = try NaNScoringCriterion(poisoned: module).scores(in: context)
        #expect(throws: PlanError.nanScore(module: module, unit: 1)) {
            try PruningPlan(target: .parameters(0.3)).select(scores: scores, groups: context.groups, shapes: context.shapes)
        }
        #expect(PlanError.nanScore(module: module, unit: 1).description == "module \(module): score of unit 1 is NaN")
        // Kept whole by --exclude, the broken module no longer matters.
        _ = try PruningPlan(target: .parameters(0.3), exclude: [ModulePattern(module)])
            .select(scores: scores, groups: context.groups, shapes: context.shapes)
    }

    /// Copies `fixture` with one weight of unit 1 of `module` set to NaN (a corrupted checkpoint).
    static func checkpointWithNaNWeight(_ fixture: String, module: String) throws -> String {
        let model = try Architectures.loadModel(directory: Fixtures.path(fixture))
        let group = try #require(model.unitGroups.first { $0.moduleKey == module })
        let slice = try #require(group.slices.first)
        let directory = CLITests.temporaryPath("nan-weight")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Fixtures.path("\(fixture)/config.json"), toPath: directory + "/config.json")
        let file = try SafetensorsFile.open(Fixtures.path("\(fixture)/diffusion_pytorch_model.safetensors"))
        var tensors: [String: Tensor] = [:]
        for key in file.keys { tensors[key] = try file.tensor(key) }
        let weight = try #require(tensors[slice.key])
        // The first element of unit 1's slice: index `lowerBound` along the slice's axis, 0 elsewhere.
        let inner = weight.shape[(slice.axis + 1)...].reduce(1, *)
        var values = weight.scalars()
        values[slice.indices(ofUnit: 1).lowerBound * inner] = .nan
        tensors[slice.key] = Tensor(values, shape: weight.shape)
        try SafetensorsWriter.write(tensors, to: directory + "/diffusion_pytorch_model.safetensors")
        return directory
    }

    @Test("magnitude on a checkpoint with a NaN weight fails naming the module and unit, writing nothing", arguments: ["sdxl-small", "flux-small"])
    func magnitudeOnNaNWeights(_ fixture: String) throws {
        let module = try Self.poisonedModule(of: fixture)
        let model = try Self.checkpointWithNaNWeight(fixture, module: module)
        let out = CLITests.temporaryPath("nan-weights-out")
        defer { try? FileManager.default.removeItem(atPath: model) }
        let message = PruneCommandTests.failureMessage([
            "prune", "--model", model, "--criterion", "magnitude", "--target", "0.3", "--out", out,
        ])
        #expect(message == "module \(module): score of unit 1 is NaN")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test("taylor and activation on NaN calibration embeddings fail naming a module, writing nothing", arguments: ["taylor", "activation"])
    func calibrationCriteriaOnNaNEmbeddings(_ criterion: String) throws {
        let embeddings = CLITests.temporaryPath("nan-embeddings.safetensors")
        let out = CLITests.temporaryPath("nan-embeddings-out")
        defer { try? FileManager.default.removeItem(atPath: embeddings) }
        let source = try SafetensorsFile.open(Fixtures.path("flux-tiny/sampling.safetensors"))
        let prompt = try source.tensor("prompt_embeds")
        var values = prompt.scalars()
        values[0] = .nan
        try SafetensorsWriter.write(
            ["prompt_embeds": Tensor(values, shape: prompt.shape), "pooled_prompt_embeds": try source.tensor("pooled_prompt_embeds")],
            to: embeddings)
        let message = PruneCommandTests.failureMessage([
            "prune", "--model", Fixtures.path("flux-tiny"), "--criterion", criterion, "--target", "0.3", "--embeddings", embeddings,
            "--preset", "flux-schnell", "--steps", "2", "--height", "64", "--width", "64", "--out", out,
        ])
        // The first module in model order has every score NaN: the whole trajectory is NaN.
        #expect(message == "module transformer_blocks.0.attn: score of unit 0 is NaN")
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
