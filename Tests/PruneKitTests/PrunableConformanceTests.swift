import Foundation
import PruneKit
import PruneNN
import PruneTensor
import PruneTestSupport
import Testing

/// The ``PrunableModel`` contract, exercised with an architecture defined outside PruneKit
/// (``ToyDenoiser``): registry lookup, calibration, EcoDiff, the plan, export and reload.
@Suite struct PrunableConformanceTests {
    static func registry() throws -> ArchitectureRegistry {
        let registry = ArchitectureRegistry()
        try registry.register(ToyArchitecture())
        return registry
    }

    @Test("an architecture defined outside PruneKit is learned with EcoDiff, pruned, exported and reloaded to match its masked self")
    func toyArchitectureEndToEnd() throws {
        let registry = try Self.registry()
        let model = try registry.makeModel(preset: "toy-8x32", seed: 11)
        let prompts = model.randomConditioning(count: 2, seed: 4)
        let samples = try model.calibrationSamples(prompts: prompts, settings: TrajectorySettings(), seed: 4)
        #expect(samples.count == 2 && samples[0].trajectory.stepCount == 3)

        var ecodiff = EcoDiffCriterion(
            parametrization: model.ecoDiffSettings.parametrization, objective: model.ecoDiffSettings.objective,
            learningRates: model.ecoDiffSettings.learningRates)
        ecodiff.schedule.epochs = 3
        let context = ScoringContext(groups: model.unitGroups, parameters: model.parameters.parameters, calibration: samples, seed: 4)
        let scores = try ecodiff.scores(in: context)
        let result = try PruningPlan(target: .units(0.25)).select(scores: scores, groups: model.unitGroups, shapes: context.shapes)
        #expect(result.selection.kept["ffn"]?.count == 24)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("toy-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try model.exportPruned(selection: result.selection, to: directory)
        let reloaded = try registry.loadModel(directory: directory)
        #expect(reloaded.architectureName == "ToyDenoiser")
        #expect(reloaded.accounting.ffnNeurons == 24)

        let masks = try UnitMasks.load(path: URL(fileURLWithPath: directory).appendingPathComponent("masks.safetensors").path)
        let inputs = ["sample": Tensor.randomNormal([1, 8], seed: 1), "encoder_hidden_states": Tensor.randomNormal([1, 8], seed: 2)]
        let expected = try withoutGradients { try model.forward(inputs, masks: masks) }
        let actual = try withoutGradients { try reloaded.forward(inputs, masks: .none) }
        #expect(maximumRelativeError(actual, expected) < 1e-6)
    }

    @Test("the registry finds architectures by class and preset, and names what it knows when it cannot")
    func registryLookups() throws {
        let registry = try Self.registry()
        #expect(try registry.architecture(forClassName: "ToyDenoiser", source: "x").name == "toy")
        #expect(throws: ArchitectureRegistryError.unknownClass(className: "Nope", source: "dir", known: ["ToyDenoiser"])) {
            try registry.architecture(forClassName: "Nope", source: "dir")
        }
        #expect(throws: ArchitectureRegistryError.unknownPreset(name: "toy-big", known: ["toy-8x32"])) {
            try registry.preset(named: "toy-big")
        }
        #expect(throws: ArchitectureRegistryError.duplicate("architecture toy")) { try registry.register(ToyArchitecture()) }
    }

    @Test("a prompt's conditioning without a tensor the architecture needs is named in the error")
    func missingConditioning() throws {
        let model = try Self.registry().makeModel(preset: "toy-8x32", seed: 0)
        #expect(throws: PrunableModelError.missingConditioning(name: "prompt_embeds", source: "prompts.safetensors")) {
            try model.trajectory(conditioning: PromptConditioning([:], source: "prompts.safetensors"), settings: TrajectorySettings(), seed: 0)
        }
        #expect(throws: PrunableModelError.badSetting("steps must be at least 1, got 0")) {
            try model.trajectory(
                conditioning: model.randomConditioning(count: 1, seed: 0)[0], settings: TrajectorySettings(steps: 0), seed: 0)
        }
    }
}
