import Foundation
import PruneKit
import PruneNN
import PruneTensor
import PruneTestSupport
import Testing

/// Whole transformer blocks as units (``UnitKind/block``), through an architecture defined outside PruneKit
/// (``ToyBlockDenoiser``): masking, surgery with renumbering, counting, the plan, criteria and export + reload.
@Suite struct BlockUnitTests {
    static func model(seed: UInt64 = 3, widths: [Int] = [6, 5, 4, 6], writesDepth: Bool = true) throws -> ToyBlockDenoiser {
        try ToyBlockDenoiser(dimension: 4, widths: widths, store: ParameterStore(randomSeed: seed), writesDepth: writesDepth)
    }

    static let inputs = ["sample": Tensor.randomNormal([1, 4], seed: 1), "encoder_hidden_states": Tensor.randomNormal([1, 4], seed: 2)]

    static func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("blocks-\(UUID().uuidString)").path
    }

    @Test("a block list is one group whose units own every tensor under their block's key")
    func blockGroupOwnsItsTensors() throws {
        let model = try Self.model()
        let list = model.unitGroups[0]
        #expect(list.kind == .block && list.moduleKey == "blocks" && list.unitCount == 4 && list.slices.isEmpty)
        #expect(list.wholeTensors[1] == ["blocks.1.ffn.down.bias", "blocks.1.ffn.down.weight", "blocks.1.ffn.up.bias", "blocks.1.ffn.up.weight"])
        let shapes = model.layout.shapes
        #expect(list.unitParameterCounts(shapes: { shapes[$0] }) == [6 * 4 + 6 + 4 * 6 + 4, 5 * 4 + 5 + 4 * 5 + 4, 4 * 4 + 4 + 4 * 4 + 4, 6 * 4 + 6 + 4 * 6 + 4])
        #expect(model.unitGroups.enclosingBlocks()["blocks.2.ffn"]! == ("blocks", 2))
    }

    @Test("a block mask of 0 makes the block the identity, 1 leaves it unchanged, and gradients reach the mask")
    func blockMaskScalesTheResidualContribution() throws {
        let model = try Self.model()
        let full = try withoutGradients { try model.forward(Self.inputs, masks: .none) }
        let ones = try withoutGradients { try model.forward(Self.inputs, masks: UnitMasks(["blocks": Tensor.ones([4])])) }
        #expect(maximumRelativeError(ones, full) < 1e-6)
        // Without block 1, by hand: the same model with block 1 zeroed out of the list.
        let skipped = try withoutGradients { try model.forward(Self.inputs, masks: UnitMasks(["blocks": Tensor([1, 0, 1, 1], shape: [4])])) }
        let shorter = try ToyBlockDenoiser(
            dimension: 4, widths: [6, 4, 6],
            store: ParameterStore(source: DictionaryTensorSource(renumbered(model.parameters.parameters, dropping: 1)), sourceName: "memory"))
        let expected = try withoutGradients { try shorter.forward(Self.inputs, masks: .none) }
        #expect(maximumRelativeError(skipped, expected) < 1e-6)

        // ∂output/∂m_b by finite differences.
        let mask = Tensor([1, 0.5, 1, 1], shape: [4], requiresGradient: true)
        try withGradients { try model.forward(Self.inputs, masks: UnitMasks(["blocks": mask])).sum().backward() }
        let analytic = mask.gradient!.scalars()[1]
        let step: Float = 1e-2
        func value(_ m: Float) throws -> Float {
            try withoutGradients { try model.forward(Self.inputs, masks: UnitMasks(["blocks": Tensor([1, m, 1, 1], shape: [4])])).sum().item() }
        }
        let numeric = (try value(0.5 + step) - value(0.5 - step)) / (2 * step)
        #expect(abs(analytic - numeric) < 1e-3 * max(1, abs(numeric)))
    }

    @Test("surgery drops removed blocks, renumbers the rest with their heads and neurons, and counts what it removed")
    func surgeryRenumbersBlocks() throws {
        let model = try Self.model()
        var selection = UnitSelection(kept: ["blocks": [0, 2, 3], "blocks.2.ffn": [0, 3], "blocks.1.ffn": [0]])
        let surgery = try ParameterSurgery(groups: model.unitGroups, selection: selection, parameters: model.parameters.parameters)
        let pruned = try surgery.apply(to: model.parameters.parameters)
        #expect(pruned.keys.filter { $0.hasPrefix("blocks.3.") }.isEmpty)
        #expect(pruned["blocks.1.ffn.up.weight"]!.shape == [2, 4])  // old block 2, 2 of 4 neurons
        #expect(pruned["blocks.2.ffn.up.weight"]!.shape == [6, 4])  // old block 3
        #expect(surgery.prunedKey("blocks.1.ffn.up.weight") == nil && surgery.prunedKey("blocks.3.ffn.down.bias") == "blocks.2.ffn.down.bias")
        let before = model.parameters.parameterCount
        let after = pruned.values.reduce(0) { $0 + $1.count }
        #expect(surgery.removedParameterCount == before - after)
        #expect(selection.removedParameterCount(in: model.unitGroups, shapes: { model.layout.shapes[$0] }) == before - after)
        let accounting = try PrunedAccounting(layout: model.layout, selection: selection)
        #expect(accounting.parameters == after)
        #expect(accounting.ffnNeurons == 6 + 2 + 6)  // block 1's neuron "kept" with it do not count
        #expect(accounting.units["block"]!.kept == 3)

        let groups = surgery.prunedGroups
        #expect(groups.map(\.moduleKey) == ["blocks", "blocks.0.ffn", "blocks.1.ffn", "blocks.2.ffn"])
        #expect(groups[0].unitCount == 3 && groups[0].wholeTensors[2].allSatisfy { $0.hasPrefix("blocks.2.") })
        #expect(groups[2].unitCount == 2 && groups[2].slices[0].key == "blocks.1.ffn.up.weight")
        selection.setKept([0, 1, 2, 3], for: "blocks")
        #expect(try ParameterSurgery(groups: model.unitGroups, selection: selection, parameters: model.parameters.parameters).blockRenames.isEmpty)
    }

    @Test("a block-pruned export writes the new depth and reloads to reproduce the masked model")
    func exportReloadsWithTheNewDepth() throws {
        let model = try Self.model()
        let selection = UnitSelection(kept: ["blocks": [1, 3], "blocks.3.ffn": [1, 2, 5]])
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let manifest = try model.exportPruned(selection: selection, to: directory)
        let reloaded = try ToyBlockDenoiser.load(directory: directory)
        #expect(reloaded.widths == [5, 3])
        #expect(manifest.parameterCount == reloaded.parameters.parameterCount)
        #expect(manifest.parameterCount == (try PrunedAccounting(layout: model.layout, selection: selection)).parameters)
        #expect(manifest.formatVersion == 2)
        #expect(manifest.modules.first { $0.key == "blocks" }.map { ($0.kind, $0.kept) }! == (.block, [1, 3]))
        #expect(manifest.modules.first { $0.key == "blocks.0.ffn" }!.keptUnits == 0)
        #expect(manifest.units["neuron"]!.kept == 5 + 3)
        let masked = try withoutGradients { try model.forward(Self.inputs, masks: selection.binaryMasks(for: model.unitGroups)) }
        let actual = try withoutGradients { try reloaded.forward(Self.inputs, masks: .none) }
        #expect(maximumRelativeError(actual, masked) < 1e-5)
    }

    @Test("an export that removes no block lists no block list and stays format version 1")
    func neuronOnlyExportStaysVersionOne() throws {
        let model = try Self.model()
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let manifest = try model.exportPruned(selection: UnitSelection(kept: ["blocks.1.ffn": [0, 1]]), to: directory)
        #expect(manifest.formatVersion == 1 && !manifest.modules.contains { $0.kind == .block })
        let written = try UnitMasks.load(path: URL(fileURLWithPath: directory).appendingPathComponent("masks.safetensors").path)
        #expect(written["blocks"] == nil && written["blocks.1.ffn"] != nil)
        #expect(try ExportManifest.load(directory: directory) == manifest)
    }

    @Test("an architecture that cannot write a new depth refuses a block-removing export and writes nothing")
    func depthNotExpressibleIsRefused() throws {
        let model = try Self.model(writesDepth: false)
        let directory = Self.temporaryDirectory()
        #expect(throws: ExportError.depthNotExpressible(architecture: "ToyBlockDenoiser", module: "blocks")) {
            try model.exportPruned(selection: UnitSelection(kept: ["blocks": [0, 1]]), to: directory)
        }
        #expect(!FileManager.default.fileExists(atPath: directory))
    }

    @Test("the plan removes blocks first and counts the neurons inside them once, towards their own kind")
    func planRanksBlocksFirst() throws {
        let model = try Self.model()
        let groups = model.unitGroups
        var scores = UnitScores(["blocks": [4, 1, 3, 2]])
        for index in 0..<4 { scores["blocks.\(index).ffn"] = (0..<model.widths[index]).map { Float($0) } }
        let shapes = model.layout.shapes
        let result = try PruningPlan(target: .units(0.25)).select(scores: scores, groups: groups, shapes: shapes)
        #expect(result.selection.kept["blocks"] == [0, 2, 3])
        // 21 neurons, quota 21 − ⌊21·0.75⌋ = 6: block 1's 5 count, so one more goes (the lowest score last in order).
        let neuronRows = result.rows.filter { $0.kind == .feedForwardNeuron }
        #expect(neuronRows.reduce(0) { $0 + $1.units - $1.kept } == 6)
        #expect(result.rows.first { $0.module == "blocks.1.ffn" }!.kept == 0)
        #expect(result.rows.first { $0.module == "blocks.1.ffn" }!.parametersRemoved == 0)
        let counted = try PrunedAccounting(layout: model.layout, selection: result.selection)
        #expect(result.removedParameters == counted.removedParameters)
        #expect(result.eligibleParameters == model.layout.parameterCount)  // every tensor lies in some block, counted once
    }

    @Test("magnitude, activation, Taylor and random score blocks; EcoDiff learns block masks jointly with neurons")
    func criteriaScoreBlocks() throws {
        let model = try Self.model()
        let groups = model.unitGroups
        let parameters = model.parameters.parameters
        let magnitude = try MagnitudeCriterion().scores(in: ScoringContext(groups: groups, parameters: parameters))
        let block2 = groups[0].wholeTensors[2].reduce(Float(0)) { $0 + (parameters[$1]! * parameters[$1]!).sum().item() }
        #expect(abs(magnitude["blocks"]![2] - block2.squareRoot()) < 1e-4 * block2.squareRoot())

        let prompts = model.randomConditioning(count: 2, seed: 5)
        let samples = try model.calibrationSamples(prompts: prompts, settings: TrajectorySettings(), seed: 5)
        let context = ScoringContext(groups: groups, parameters: parameters, calibration: samples, seed: 5)
        let activation = try ActivationCriterion().scores(in: context)
        #expect(activation["blocks"]!.count == 4 && activation["blocks"]!.allSatisfy { $0 > 0 })
        let taylor = try TaylorCriterion(threshold: nil).scores(in: context)
        #expect(taylor["blocks"]!.count == 4 && taylor["blocks"]!.contains { $0 > 0 })
        let random = try RandomCriterion().scores(in: context)
        #expect(random["blocks"]!.count == 4)

        var ecodiff = EcoDiffCriterion(
            parametrization: model.ecoDiffSettings.parametrization, objective: model.ecoDiffSettings.objective,
            learningRates: model.ecoDiffSettings.learningRates)
        ecodiff.schedule.epochs = 2
        let learned = try ecodiff.scores(in: context)
        #expect(learned["blocks"]!.count == 4 && learned["blocks.0.ffn"]!.count == 6)
        #expect(learned["blocks"]!.contains { $0 != learned["blocks"]![0] })  // the block λ moved, each its own way
    }

    @Test("a masks file may mask blocks: a block removed by a mask is one the selection drops")
    func selectionFromBlockMasks() throws {
        let model = try Self.model()
        let masks = UnitMasks(["blocks": Tensor([1, 0, 1, 0], shape: [4])])
        let selection = try UnitSelection(masks: masks, groups: model.unitGroups)
        #expect(selection.kept["blocks"] == [0, 2])
        #expect(selection.removedBlockMembers(in: model.unitGroups) == ["blocks.1.ffn", "blocks.3.ffn"])
        #expect(throws: SurgeryError.maskShape(module: "blocks", expected: [4], actual: [3])) {
            try UnitSelection(masks: UnitMasks(["blocks": Tensor.ones([3])]), groups: model.unitGroups)
        }
    }
}

/// `parameters` without block `dropped` of the list `blocks`, later blocks renumbered (written independently of
/// ``ParameterSurgery``).
private func renumbered(_ parameters: [String: Tensor], dropping dropped: Int) -> [String: Tensor] {
    var result: [String: Tensor] = [:]
    for (key, tensor) in parameters {
        let parts = key.split(separator: ".", maxSplits: 2).map(String.init)
        let index = Int(parts[1])!
        if index == dropped { continue }
        result["blocks.\(index > dropped ? index - 1 : index).\(parts[2])"] = tensor
    }
    return result
}
