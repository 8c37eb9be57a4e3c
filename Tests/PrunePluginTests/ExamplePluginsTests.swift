import Foundation
import PruneKit
import PruneNN
import PrunePluginHost
import PruneTensor
import PruneTestSupport
import Testing

/// The two example plugins (`Examples/CriterionPlugin` → libExampleCriterion.so, the `lamp` criterion;
/// `Examples/ArchitecturePlugin` → libExampleArchitecture.so, the `tiny-denoiser` architecture), loaded
/// from the `.so` files SwiftPM built, in process and through `prunekit` in a child process.
@Suite(.serialized) struct ExamplePluginsTests {
    static func product(_ name: String) throws -> String { try PluginTestSupport.builtProduct(name) }

    /// `prunekit` with only the plugins given on its command line.
    static func prunekit(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try PluginTestSupport.run(try product("prunekit"), arguments, environment: ["PRUNEKIT_PLUGIN_PATH": ""])
    }

    /// A `tiny-denoiser` model built from `seed`, with a private registry holding the example architecture.
    static func tinyDenoiser(seed: UInt64) throws -> (any PrunableModel, ArchitectureRegistry) {
        let registry = ArchitectureRegistry()
        try PluginLoader.register(
            try PluginLoader.load(path: try product("libExampleArchitecture.so")), criteria: CriterionRegistry(), architectures: registry)
        return (try registry.makeModel(preset: "tiny-denoiser", seed: seed), registry)
    }

    /// `prunekit params --json` of an export, as (parameters, heads, ffn_neurons).
    static func params(_ directory: String) throws -> (parameters: Int, heads: Int, neurons: Int) {
        let (status, output) = try prunekit(["params", "--plugin", try product("libExampleArchitecture.so"), "--model", directory, "--json"])
        #expect(status == 0, "\(output)")
        let line = try #require(output.split(separator: "\n").last(where: { $0.hasPrefix("{") }), "\(output)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Int])
        return (object["parameters"] ?? -1, object["heads"] ?? -1, object["ffn_neurons"] ?? -1)
    }

    /// Kept heads and FFN neurons of an export, summed from its `prunekit.json`.
    static func keptUnits(_ manifest: ExportManifest) -> (heads: Int, neurons: Int) {
        (manifest.modules.filter { $0.kind == .attentionHead }.reduce(0) { $0 + $1.keptUnits },
         manifest.modules.filter { $0.kind == .feedForwardNeuron }.reduce(0) { $0 + $1.keptUnits })
    }

    @Test("the criterion example loads as lamp, passes its self-test, and its scores are LAMP of the units' weights")
    func criterionScoresAreLAMP() throws {
        let plugin = try PluginLoader.load(path: try Self.product("libExampleCriterion.so"))
        #expect(plugin.name == "lamp" && plugin.kindNames == ["criterion"] && plugin.abiVersion == 1)
        let criterion = try #require(plugin.criteria.first)
        #expect(plugin.criteria.map(\.name) == ["lamp"] && !criterion.requiresCalibration)
        #expect(try plugin.selfTest() == true)
        #expect(throws: PluginError.self) { try plugin.configure(key: "power", value: "3") }
        #expect(plugin.lastError().contains("power must be 1 or 2, got '3'"))

        let (model, _) = try Self.tinyDenoiser(seed: 4)
        let parameters = model.parameters.parameters
        let (scores, leaked) = try TensorHandles.shared.tracking {
            try criterion.scores(in: ScoringContext(groups: model.unitGroups, parameters: parameters))
        }
        try scores.validate(against: model.unitGroups)
        #expect(leaked == 0, "the plugin released every handle it received")
        for group in model.unitGroups {
            // s_u = Σ w² over the unit's entries; LAMP = s_u / Σ of the units ranked at or above u.
            let sizes = (0..<group.unitCount).map { unit in
                group.slices.reduce(0.0) { total, slice in
                    parameters[slice.key]!.sliced(axis: slice.axis, slice.indices(ofUnit: unit)).contiguous().scalars()
                        .reduce(total) { $0 + Double($1) * Double($1) }
                }
            }
            let expected = sizes.indices.map { unit in
                sizes[unit] / sizes.indices.filter { (sizes[$0], $0) >= (sizes[unit], unit) }.reduce(0.0) { $0 + sizes[$1] }
            }
            let actual = try #require(scores[group.moduleKey])
            let error = zip(actual, expected).map { abs(Double($0) - $1) / $1 }.max() ?? 0
            #expect(error < 1e-4, "\(group.moduleKey): largest relative error \(error)")
            #expect(actual.max() == 1, "the strongest unit of \(group.moduleKey) scores 1")
        }
    }

    @Test("the criterion example's scores drive prunekit prune, and the export reloads with the kept widths")
    func criterionDrivesPrune() throws {
        let temporary = try PluginTestSupport.temporaryDirectory("example-lamp")
        defer { try? FileManager.default.removeItem(at: temporary) }
        let out = temporary.appendingPathComponent("pruned").path
        let (status, output) = try Self.prunekit([
            "prune", "--plugin", try Self.product("libExampleCriterion.so"), "--plugin", try Self.product("libExampleArchitecture.so"),
            "--preset", "tiny-denoiser", "--seed", "0", "--criterion", "lamp", "--target", "0.6", "--out", out,
        ])
        #expect(status == 0, "\(output)")
        let manifest = try ExportManifest.load(directory: out)
        #expect(manifest.criterion == "lamp")

        // The same model, scored in process by the plugin and by magnitude, planned as the CLI plans.
        let (model, _) = try Self.tinyDenoiser(seed: 0)
        let groups = model.unitGroups
        let context = ScoringContext(groups: groups, parameters: model.parameters.parameters)
        let plan = PruningPlan(target: .parameters(0.6))
        let lamp = try PluginLoader.load(path: try Self.product("libExampleCriterion.so")).criteria[0]
        let expected = try plan.select(scores: try lamp.scores(in: context), groups: groups, shapes: context.shapes).selection
        let magnitude = try plan.select(scores: try MagnitudeCriterion().scores(in: context), groups: groups, shapes: context.shapes).selection
        for group in groups {
            #expect(manifest.selection.keptUnits(of: group) == expected.keptUnits(of: group), "\(group.moduleKey)")
        }
        #expect(groups.contains { expected.keptUnits(of: $0) != magnitude.keptUnits(of: $0) }, "LAMP chose differently from magnitude")

        let reloaded = try Self.params(out)
        let kept = Self.keptUnits(manifest)
        #expect(reloaded.parameters == manifest.parameterCount && reloaded.parameters < manifest.source.parameterCount)
        #expect(reloaded.heads == kept.heads && reloaded.neurons == kept.neurons)
    }

    @Test("the architecture example prunes with magnitude and reloads with the pruned widths")
    func architecturePrunesAndReloads() throws {
        let architecture = try Self.product("libExampleArchitecture.so")
        var (status, output) = try Self.prunekit(["plugins", "list", "--check", "--plugin", architecture])
        #expect(status == 0 && output.contains("architecture tiny-denoiser (classes TinyDenoiser; presets tiny-denoiser, tiny-denoiser-wide)"), "\(output)")

        let temporary = try PluginTestSupport.temporaryDirectory("example-tiny")
        defer { try? FileManager.default.removeItem(at: temporary) }
        let out = temporary.appendingPathComponent("pruned").path
        (status, output) = try Self.prunekit([
            "prune", "--plugin", architecture, "--preset", "tiny-denoiser", "--criterion", "magnitude", "--target", "0.3", "--out", out,
        ])
        #expect(status == 0, "\(output)")
        #expect(output.contains("wrote \(out): 22003 parameters (from 29104)"))
        let manifest = try ExportManifest.load(directory: out)
        #expect(manifest.architecture == "TinyDenoiser" && manifest.modules.map(\.key) == ["blocks.0.attn", "blocks.0.ff", "blocks.1.attn", "blocks.1.ff"])
        let kept = Self.keptUnits(manifest)
        #expect(kept.heads < 8 && kept.neurons < 256)

        let reloaded = try Self.params(out)
        #expect(reloaded.parameters == manifest.parameterCount)
        #expect(reloaded.heads == kept.heads && reloaded.neurons == kept.neurons)
    }

    @Test("sample drives a plugin architecture through its own trajectory: the latents are the library's unroll of it")
    func sampleRunsThePluginArchitecture() throws {
        let architecture = try Self.product("libExampleArchitecture.so")
        let temporary = try PluginTestSupport.temporaryDirectory("example-sample")
        defer { try? FileManager.default.removeItem(at: temporary) }
        let (model, registry) = try Self.tinyDenoiser(seed: 3)
        let directory = temporary.appendingPathComponent("model").path
        var selection = UnitSelection()
        selection.setKept([0, 1, 3], for: "blocks.0.attn")
        selection.setKept(Array(0..<40), for: "blocks.1.ff")
        try model.exportPruned(selection: selection, to: directory)
        // The model is unconditional: the embeddings file holds nothing it reads. A model directory carries no preset,
        // so the image size is given.
        let embeddings = temporary.appendingPathComponent("embeddings.safetensors").path
        try SafetensorsWriter.write(["unused": Tensor.zeros([1])], metadata: [:], to: embeddings)
        let output = temporary.appendingPathComponent("latents.safetensors").path
        let (status, text) = try Self.prunekit([
            "sample", "--plugin", architecture, "--model", directory, "--embeddings", embeddings, "--steps", "3", "--seed", "5",
            "--height", "64", "--width", "64", "--output", output, "--trace",
        ])
        #expect(status == 0, "\(text)")
        #expect(text.contains("step 3/3"), "\(text)")
        let file = try SafetensorsFile.open(output)
        #expect(Set(file.keys) == ["latents", "trace.0", "trace.1", "trace.2"])

        let reloaded = try registry.loadModel(directory: directory)
        let prepared = try reloaded.trajectory(
            conditioning: PromptConditioning([:], source: "none"), settings: TrajectorySettings(steps: 3, height: 64, width: 64), seed: 5 &+ 1)
        let expected = try withoutGradients {
            try prepared.trajectory.finalLatents(noise: Tensor.randomNormal(prepared.noiseShape, seed: 5))
        }
        let latents = try file.tensor("latents")
        #expect(latents.shape == [1, 4, 8, 8])
        #expect(maximumRelativeError(latents, expected) < 1e-6)
        #expect(maximumRelativeError(try file.tensor("trace.2"), latents) == 0)
    }

    @Test("a pruned tiny-denoiser export reproduces the masked model, even with a block's heads all removed")
    func architectureExportMatchesMaskedModel() throws {
        let (model, registry) = try Self.tinyDenoiser(seed: 7)
        var selection = UnitSelection()
        selection.setKept([0, 2], for: "blocks.0.attn")
        selection.setKept(Array(stride(from: 0, to: 128, by: 3)), for: "blocks.0.ff")
        selection.setKept([], for: "blocks.1.attn")  // only to_out.bias is left of this attention
        selection.setKept(Array(0..<20), for: "blocks.1.ff")
        let temporary = try PluginTestSupport.temporaryDirectory("example-export")
        defer { try? FileManager.default.removeItem(at: temporary) }
        let directory = temporary.appendingPathComponent("out").path
        try model.exportPruned(selection: selection, to: directory)
        let reloaded = try registry.loadModel(directory: directory)
        #expect(reloaded.accounting.heads == 2 && reloaded.accounting.ffnNeurons == 43 + 20)
        #expect(reloaded.parameters.parameters["blocks.0.attn.to_q.weight"]?.shape == [16, 32])
        #expect(reloaded.parameters.parameters["blocks.1.attn.to_out.weight"]?.shape == [32, 0])

        let inputs = ["sample": Tensor.randomNormal([2, 4, 8, 8], seed: 1), "timestep": Tensor([750, 250], shape: [2])]
        let masked = try withoutGradients { try model.forward(inputs, masks: selection.binaryMasks(for: model.unitGroups)) }
        let actual = try withoutGradients { try reloaded.forward(inputs, masks: .none) }
        let unmasked = try withoutGradients { try model.forward(inputs, masks: .none) }
        #expect(masked.shape == [2, 4, 8, 8])
        #expect(maximumRelativeError(actual, masked) < 1e-5)
        #expect(maximumRelativeError(unmasked, masked) > 1e-3, "the masks changed the output")
    }

    @Test("the architecture example's flow-match trajectory drives calibration criteria and rejects latents of the wrong size")
    func architectureTrajectory() throws {
        let architecture = try Self.product("libExampleArchitecture.so")
        let temporary = try PluginTestSupport.temporaryDirectory("example-taylor")
        defer { try? FileManager.default.removeItem(at: temporary) }
        var (status, output) = try Self.prunekit([
            "prune", "--plugin", architecture, "--preset", "tiny-denoiser", "--criterion", "taylor", "--random-prompts", "1",
            "--target", "0.3", "--out", temporary.appendingPathComponent("taylor").path,
        ])
        #expect(status == 0, "\(output)")
        (status, output) = try Self.prunekit([
            "prune", "--plugin", architecture, "--preset", "tiny-denoiser", "--criterion", "taylor", "--random-prompts", "1",
            "--height", "128", "--width", "128", "--target", "0.3", "--out", temporary.appendingPathComponent("wrong").path,
        ])
        #expect(status != 0)
        #expect(output.contains("TinyDenoiser sample must be [B, 4, 8, 8], got [1, 4, 16, 16]"), "\(output)")
        #expect(!FileManager.default.fileExists(atPath: temporary.appendingPathComponent("wrong").path))

        // The schedule: 4 flow-match Euler steps, σ = linspace(1, 1/1000, 4), timestep = 1000·σ; the first step
        // is x + (σ₁ − σ₀)·v(x, 1000) with the host's scheduler around the plugin's forward.
        let (model, _) = try Self.tinyDenoiser(seed: 1)
        let prepared = try model.trajectory(conditioning: model.randomConditioning(count: 1, seed: 0)[0], settings: TrajectorySettings(), seed: 0)
        #expect(prepared.trajectory.stepCount == 4 && prepared.noiseShape == [1, 4, 8, 8])
        let noise = Tensor.randomNormal([1, 4, 8, 8], seed: 2)
        let start = prepared.trajectory.initialLatents(noise: noise)
        let next = try withoutGradients { try prepared.trajectory.step(start, index: 0, masks: .none) }
        let velocity = try withoutGradients { try model.forward(["sample": start, "timestep": Tensor([1000], shape: [1])], masks: .none) }
        let dt = Float(1.0 / 1000 - 1) / 3
        #expect(maximumRelativeError(next, start + velocity * dt) < 1e-5)
        #expect(maximumRelativeError(start, noise) == 0, "flow matching starts from the noise itself")
    }
}
