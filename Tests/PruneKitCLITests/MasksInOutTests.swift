import ArgumentParser
import Foundation
import PruneDemo
import PruneKit
import PruneNN
import PruneTensor
import PruneTestSupport
import Testing

@testable import prunekit

/// `prune --masks`, `prune --scores`, `--save-scores`, per-kind targets and `params --masks` through the command line.
@Suite struct MasksInOutTests {
    static func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-masks-\(UUID().uuidString)-\(name)").path
    }

    static func manifest(_ directory: String) throws -> ExportManifest { try ExportManifest.load(directory: directory) }

    static func weights(_ directory: String) -> String { directory + "/diffusion_pytorch_model.safetensors" }

    /// The unit groups of a model directory, as `prune` sees them.
    /// The heads and neurons of `model` (`prune`'s default `--units`).
    static func groups(_ model: String) throws -> [UnitGroup] {
        try Architectures.loadModel(directory: model).unitGroups(of: [.attentionHead, .feedForwardNeuron])
    }

    /// Seeded random scores for every module of `groups`.
    static func randomScores(_ groups: [UnitGroup], seed: UInt64) -> UnitScores {
        var generator = SeededGenerator(seed: seed)
        return UnitScores(Dictionary(uniqueKeysWithValues: groups.map { group in
            (group.moduleKey, (0..<group.unitCount).map { _ in generator.nextUniform() })
        }))
    }

    @Test(
        "A criterion run's masks.safetensors and --save-scores file, given back as --masks and --scores, export byte-identical weights; params --masks counts the export",
        arguments: ["sdxl-small", "flux-tiny"])
    func roundTrip(fixture: String) throws {
        let model = Fixtures.path(fixture)
        let first = Self.temporaryPath("criterion")
        let scores = Self.temporaryPath("scores.safetensors")
        let fromMasks = Self.temporaryPath("from-masks")
        let fromScores = Self.temporaryPath("from-scores")
        defer { for path in [first, scores, fromMasks, fromScores] { try? FileManager.default.removeItem(atPath: path) } }

        try CLITests.run([
            "prune", "--model", model, "--criterion", "magnitude", "--target", "0.3", "--out", first, "--save-scores", scores,
        ])
        let masks = first + "/masks.safetensors"
        try CLITests.run(["prune", "--model", model, "--masks", masks, "--out", fromMasks])
        try CLITests.run(["prune", "--model", model, "--scores", scores, "--target", "0.3", "--out", fromScores])

        #expect(FileManager.default.contentsEqual(atPath: Self.weights(first), andPath: Self.weights(fromMasks)))
        #expect(FileManager.default.contentsEqual(atPath: Self.weights(first), andPath: Self.weights(fromScores)))
        let original = try Self.manifest(first)
        let masked = try Self.manifest(fromMasks)
        #expect(masked.modules == original.modules)
        #expect(masked.criterion == "masks" && masked.target == nil)
        #expect(try Self.manifest(fromScores).criterion == "scores")
        #expect(try Self.manifest(fromScores).target == 0.3)
        #expect(original.removedParameterCount > 0)

        // The scores file holds magnitude's scores, marked as a PruneKit output.
        let file = try SafetensorsFile.open(scores)
        #expect(file.metadata["prunekit.criterion"] == "magnitude")
        #expect(file.keys.count == original.modules.count && file.keys.allSatisfy { $0.hasPrefix("score.") })

        // params --masks counts what the export holds, without loading the export.
        let counts = try ParamsCommand.parse(["--model", model, "--masks", masks]).prunedAccounting(masks: masks)
        #expect(counts.parameters == masked.parameterCount)
        #expect(counts.original.parameters == masked.source.parameterCount)
        #expect(counts.heads == masked.units["head"]?.kept && counts.ffnNeurons == masked.units["neuron"]?.kept)
        #expect(counts.heads == (try ParamsCommand.parse(["--model", fromMasks]).accounting()).heads)
        try CLITests.run(["params", "--model", model, "--masks", masks])
        try CLITests.run(["params", "--model", model, "--masks", masks, "--json"])
    }

    /// A data-free criterion whose neurons all score below its heads, planned with `scope` unless told otherwise.
    struct ScopeProbeCriterion: PruningCriterion {
        let scope: PruningPlan.Scope
        var name: String { "test-scope-probe" }
        var summary: String { "neurons score below heads (CLI test criterion)" }
        var requiresCalibration: Bool { false }
        var defaultScope: PruningPlan.Scope { scope }
        func scores(in context: ScoringContext) throws -> UnitScores {
            UnitScores(Dictionary(uniqueKeysWithValues: context.groups.map { group in
                (group.moduleKey, (0..<group.unitCount).map { Float($0) + (group.kind == .attentionHead ? 1000 : 0) })
            }))
        }
    }

    @Test("prune plans with the criterion's own scope unless --scope says otherwise; EcoDiff's is joint, a --scores file's global")
    func planScopeFollowsTheCriterion() throws {
        #expect(EcoDiffCriterion().defaultScope == .joint)
        for name in ["magnitude", "random", "taylor", "activation"] {
            #expect(try CriterionRegistry.withBuiltIns().criterion(named: name).defaultScope == .global, "\(name)")
        }
        let model = Fixtures.path("sdxl-small")
        let outputs = (0..<4).map { Self.temporaryPath("scope-\($0)") }
        let scores = Self.temporaryPath("scope.safetensors")
        defer { for path in outputs + [scores] { try? FileManager.default.removeItem(atPath: path) } }
        /// Heads removed by a probe run planned with `scope` by default and `extra` flags.
        func headsRemoved(_ scope: PruningPlan.Scope, _ extra: [String], out: String) throws -> Int {
            let registry = CriterionRegistry.withBuiltIns()
            try registry.register(ScopeProbeCriterion(scope: scope))
            try CriterionRegistry.$current.withValue(registry) {
                try CLITests.run(["prune", "--model", model, "--criterion", "test-scope-probe", "--target", "0.2", "--out", out] + extra)
            }
            let heads = try Self.manifest(out).units["head"]!
            return heads.original - heads.kept
        }
        #expect(try headsRemoved(.joint, ["--save-scores", scores], out: outputs[0]) == 0)  // the neurons pay for everything
        #expect(try headsRemoved(.global, [], out: outputs[1]) > 0)  // every kind gives up 20 %
        #expect(try headsRemoved(.joint, ["--scope", "global"], out: outputs[2]) > 0)
        // The same scores from a file are planned per kind.
        try CLITests.run(["prune", "--model", model, "--scores", scores, "--target", "0.2", "--out", outputs[3]])
        #expect(FileManager.default.contentsEqual(atPath: Self.weights(outputs[1]), andPath: Self.weights(outputs[3])))
    }

    @Test("params --preset --masks counts, without weights, exactly what prune --preset --masks exports")
    func presetCountsMatchExport() throws {
        let masks = Self.temporaryPath("tiny-masks.safetensors")
        let out = Self.temporaryPath("tiny-pruned")
        defer { for path in [masks, out] { try? FileManager.default.removeItem(atPath: path) } }
        let layout = try ParamsCommand.parse(["--preset", "sdxl-tiny"]).layout()
        var generator = SeededGenerator(seed: 9)
        var selection = UnitSelection()
        let headsAndNeurons = layout.groups.filter { !$0.isBlockList }
        for group in headsAndNeurons where generator.nextUniform() < 0.7 {  // some modules left out: kept whole
            selection.setKept((0..<group.unitCount).filter { _ in generator.nextUniform() < 0.6 }, for: group.moduleKey)
        }
        var binary = selection.binaryMasks(for: layout.groups)
        binary.byModule = binary.byModule.filter { selection.kept[$0.key] != nil }
        try binary.write(to: masks)

        try CLITests.run(["prune", "--preset", "sdxl-tiny", "--masks", masks, "--out", out])
        let manifest = try Self.manifest(out)
        let counts = try ParamsCommand.parse(["--preset", "sdxl-tiny", "--masks", masks]).prunedAccounting(masks: masks)
        #expect(counts.parameters == manifest.parameterCount)
        #expect(counts.removedParameters == manifest.removedParameterCount)
        #expect(counts.units["head"]?.kept == manifest.units["head"]?.kept)
        #expect(counts.units["neuron"]?.kept == manifest.units["neuron"]?.kept)
        #expect(manifest.selection == UnitSelection(kept: Dictionary(uniqueKeysWithValues: headsAndNeurons.map { ($0.moduleKey, selection.keptUnits(of: $0)) })))
        let lines = ParamsCommand.lines(counts)
        #expect(lines[0].hasPrefix("parameters   \(manifest.parameterCount) of \(manifest.source.parameterCount) (\(manifest.removedParameterCount) removed, "))
        #expect(lines[1].hasPrefix("heads        \(counts.heads) of \(counts.original.heads) ("))
    }

    @Test("Per-kind targets keep 68 % of heads and 88 % of neurons, from --scores (partial files keep the rest whole) and from a criterion")
    func perKindTargets() throws {
        let model = Fixtures.path("sdxl-small")
        let groups = try Self.groups(model)
        let scores = Self.temporaryPath("random-scores.safetensors")
        let partial = Self.temporaryPath("attention-scores.safetensors")
        let outs = (0..<3).map { Self.temporaryPath("per-kind-\($0)") }
        defer { for path in [scores, partial] + outs { try? FileManager.default.removeItem(atPath: path) } }
        let random = Self.randomScores(groups, seed: 21)
        try UnitFile.write(scores: random, groups: groups, to: scores)
        let perKind = ["--target-kind", "units", "--target-heads", "0.32", "--target-neurons", "0.12"]

        try CLITests.run(["prune", "--model", model, "--scores", scores, "--out", outs[0]] + perKind)
        let manifest = try Self.manifest(outs[0])
        let heads = groups.filter { $0.kind == .attentionHead }.reduce(0) { $0 + $1.unitCount }
        let neurons = groups.filter { $0.kind == .feedForwardNeuron }.reduce(0) { $0 + $1.unitCount }
        #expect(manifest.units["head"]?.kept == Int(Double(heads) * 0.68))
        #expect(manifest.units["neuron"]?.kept == Int(Double(neurons) * 0.88))
        #expect(manifest.target == nil && manifest.criterion == "scores")
        // EcoDiff's per-kind global top-k of the same scores.
        for (kind, ratio) in [(UnitKind.attentionHead, 0.68), (.feedForwardNeuron, 0.88)] {
            #expect(
                PerKindReference.kept(manifest.selection, groups: groups, kind: kind)
                    == PerKindReference.ecoDiffKept(random, groups: groups, kind: kind, keepRatio: ratio))
        }

        // Scores for the attention modules only: the FFNs keep every neuron.
        var attention = random
        attention.byModule = attention.byModule.filter { key, _ in groups.first { $0.moduleKey == key }?.kind == .attentionHead }
        try UnitFile.write(scores: attention, groups: groups, to: partial)
        try CLITests.run(["prune", "--model", model, "--scores", partial, "--out", outs[1]] + perKind)
        let attentionOnly = try Self.manifest(outs[1])
        #expect(attentionOnly.units["neuron"]?.kept == neurons)
        #expect(attentionOnly.units["head"]?.kept == Int(Double(heads) * 0.68))

        // A criterion with per-kind parameter targets.
        try CLITests.run([
            "prune", "--model", model, "--criterion", "magnitude", "--target-heads", "0.5", "--target-neurons", "0", "--out", outs[2],
        ])
        let magnitude = try Self.manifest(outs[2])
        #expect(magnitude.units["neuron"]?.kept == neurons)
        #expect(magnitude.units["head"]!.kept < heads && magnitude.units["head"]!.kept > 0)
    }

    @Test("prune --masks on a demo model writes the report too: criterion masks, target the share removed, no calibration")
    func demoReport() throws {
        let model = Self.temporaryPath("toy-sdxl")
        let masks = Self.temporaryPath("toy-masks.safetensors")
        let out = Self.temporaryPath("toy-pruned")
        let report = Self.temporaryPath("toy-report")
        defer { for path in [model, masks, out, report] { try? FileManager.default.removeItem(atPath: path) } }
        try DemoPruneTests.writeToyModel(.sdxl, to: model)
        let groups = try Self.groups(model)
        var selection = UnitSelection()
        for group in groups { selection.setKept(Array(0..<(group.unitCount * 3 / 4)), for: group.moduleKey) }
        try selection.binaryMasks(for: groups).write(to: masks)

        let outcome = try CLIProcess.run(["prune", "--model", model, "--masks", masks, "--out", out, "--report", report])
        #expect(outcome.status == 0, "\(outcome.standardError.suffix(400))")
        let written = try JSONDecoder().decode(PruningReport.self, from: Data(contentsOf: URL(fileURLWithPath: report + "/report.json")))
        #expect(written.criterion == "masks" && written.calibrationPrompts == 0)
        // The block lists (a masks file may name any unit) are rows too; this file names none, so they are kept whole
        // and not eligible, and the share is of the heads' and neurons' parameters.
        let rows = written.modules.filter { $0.kind != .block }
        #expect(rows.map(\.kept) == groups.map { $0.unitCount * 3 / 4 })
        #expect(written.modules.filter { $0.kind == .block }.allSatisfy { !$0.eligible && $0.kept == $0.units })
        let removed = Double(written.modules.reduce(0) { $0 + $1.parametersRemoved })
        let maskable = Double(rows.reduce(0) { $0 + $1.units * $1.parametersPerUnit })
        #expect(abs(written.target - removed / maskable) < 1e-12)
        #expect(try Self.manifest(out).selection == selection)
    }

    @Test("A pipeline export's unet/masks.safetensors given back to prune --masks gives the same pruned pipeline, with its report")
    func pipelineRoundTrip() throws {
        let source = Fixtures.path("sdxl-pipeline-tiny")
        let first = Self.temporaryPath("pipeline-criterion")
        let again = Self.temporaryPath("pipeline-masks")
        let report = Self.temporaryPath("pipeline-report")
        let prompts = Self.temporaryPath("prompts.txt")
        defer { for path in [first, again, report, prompts] { try? FileManager.default.removeItem(atPath: path) } }
        try "a red square\na blue circle\n".write(toFile: prompts, atomically: true, encoding: .utf8)
        try CLITests.run(["prune", "--model", source, "--criterion", "magnitude", "--target", "0.4", "--out", first])
        try CLITests.run([
            "prune", "--model", source, "--masks", first + "/unet/masks.safetensors", "--out", again, "--report", report,
            "--report-prompts", prompts, "--report-size", "32", "--report-steps", "2",
        ])
        #expect(FileManager.default.contentsEqual(atPath: Self.weights(first + "/unet"), andPath: Self.weights(again + "/unet")))
        let written = try JSONDecoder().decode(PipelinePruningReport.self, from: Data(contentsOf: URL(fileURLWithPath: report + "/report.json")))
        let manifest = try Self.manifest(again + "/unet")
        #expect(written.criterion == "masks" && manifest.criterion == "masks")
        #expect(written.pruned.parameters == manifest.parameterCount)
        let counts = try ParamsCommand.parse(["--model", source, "--masks", first + "/unet/masks.safetensors"])
            .prunedAccounting(masks: first + "/unet/masks.safetensors")
        #expect(counts.parameters == manifest.parameterCount)
    }

    @Test("Bad masks and scores files and conflicting flags are refused with one clear message, and nothing is written")
    func badInput() throws {
        let model = Fixtures.path("sdxl-small")
        let groups = try Self.groups(model)
        let key = groups[0].moduleKey
        let out = Self.temporaryPath("never")
        let saved = Self.temporaryPath("never-scores.safetensors")
        let file = Self.temporaryPath("bad.safetensors")
        let good = Self.temporaryPath("good.safetensors")
        defer { for path in [out, saved, file, good] { try? FileManager.default.removeItem(atPath: path) } }
        try UnitSelection().binaryMasks(for: groups).write(to: good)

        func refusal(_ arguments: [String], _ expected: String, sourceLine: Int = #line) {
            let message = PruneCommandTests.failureMessage(["prune", "--model", model, "--out", out] + arguments)
            #expect(message?.contains(expected) == true, "line \(sourceLine): \(message ?? "no error")")
            #expect(!FileManager.default.fileExists(atPath: out), "line \(sourceLine): the export was written")
            #expect(!FileManager.default.fileExists(atPath: saved), "line \(sourceLine): the scores were written")
        }

        refusal(["--masks", file], "--masks \(file) not found")
        try Data("not a safetensors file".utf8).write(to: URL(fileURLWithPath: file))
        refusal(["--masks", file], "--masks: \(file): ")
        refusal(["--scores", file], "--scores: \(file): ")
        try SafetensorsWriter.write(["mask." + key: Tensor.ones([groups[0].unitCount + 1])], to: file)
        refusal(["--masks", file], "mask.\(key) has shape [\(groups[0].unitCount + 1)], expected [\(groups[0].unitCount)]")
        try SafetensorsWriter.write(["mask." + key + "x": Tensor.ones([groups[0].unitCount])], to: file)
        let maskable = try Architectures.loadModel(directory: model).unitGroups.count  // a masks file may name any unit, blocks too
        refusal(["--masks", file], "mask.\(key)x names no maskable module of the model (it has \(maskable)); closest: mask.\(key)")
        refusal(["--masks", Fixtures.path("sdxl-small/masks.safetensors")], "masks must be 0 (remove) or 1 (keep)")
        try SafetensorsWriter.write(["score." + key: Tensor([Float.nan] + [Float](repeating: 0, count: groups[0].unitCount - 1), shape: [groups[0].unitCount])], to: file)
        refusal(["--scores", file], "score.\(key) unit 0 is NaN")

        refusal(["--masks", good, "--criterion", "magnitude"], "--masks gives the kept units itself, so --criterion cannot be used with it")
        refusal(["--masks", good, "--target", "0.3", "--scope", "per-module"], "so --target, --scope cannot be used with it")
        refusal(["--masks", good, "--target-heads", "0.3"], "--target-heads cannot be used")
        refusal(["--masks", good, "--save-scores", saved], "--save-scores cannot be used")
        refusal(["--masks", good, "--scores", good], "give --masks (binary masks, exported as they are) or --scores")
        refusal(["--scores", good, "--criterion", "taylor"], "--scores replaces the criterion, so --criterion cannot be used with it")
        refusal(["--scores", good, "--save-scores", saved], "--save-scores cannot be used with it")
        refusal(["--scores", good, "--target-neurons", "1.5"], "--target-neurons must be a fraction in [0, 1], got 1.5")
        refusal(["--criterion", "magnitude", "--target-kind", "model", "--target-heads", "0.9"], "for unit kind head exceeds what its eligible units hold")

        let params = PruneCommandTests.failureMessage(["params", "--model", model, "--masks", Fixtures.path("sdxl-small/masks.safetensors")])
        #expect(params?.contains("masks must be 0 (remove) or 1 (keep)") == true, "\(params ?? "no error")")

        // Exit statuses: a usage error is 64, a file that does not fit the model 1.
        let mixed = try CLIProcess.run(["prune", "--model", model, "--masks", good, "--criterion", "magnitude", "--out", out])
        #expect(mixed.status == 64 && !mixed.signaled)
        #expect(mixed.errorLines.count == 1 && mixed.errorLines[0].contains("--masks gives the kept units itself"))
        try SafetensorsWriter.write(["mask." + key: Tensor.ones([3, 3])], to: file)
        let shaped = try CLIProcess.run(["prune", "--model", model, "--masks", file, "--out", out])
        #expect(shaped.status == 1 && shaped.errorLines.count == 1, "\(shaped.standardError)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}

/// EcoDiff's per-kind binarisation, as a reference for the CLI's per-kind targets.
enum PerKindReference {
    /// `binarize(scope: global, ratio)` for one kind: concatenate the kind's scores in model order, stable sort
    /// descending, keep the first `int(N·ratio)`; as `module#unit` names.
    static func ecoDiffKept(_ scores: UnitScores, groups: [UnitGroup], kind: UnitKind, keepRatio: Double) -> Set<String> {
        let units = groups.filter { $0.kind == kind }.flatMap { group in
            scores[group.moduleKey]!.enumerated().map { (name: "\(group.moduleKey)#\($0.offset)", score: $0.element) }
        }
        let order = units.indices.sorted { units[$0].score != units[$1].score ? units[$0].score > units[$1].score : $0 < $1 }
        return Set(order.prefix(Int(Double(units.count) * keepRatio)).map { units[$0].name })
    }

    /// The kept units of `kind`, as `module#unit` names.
    static func kept(_ selection: UnitSelection, groups: [UnitGroup], kind: UnitKind) -> Set<String> {
        Set(groups.filter { $0.kind == kind }.flatMap { group in selection.keptUnits(of: group).map { "\(group.moduleKey)#\($0)" } })
    }
}
