import Foundation
import PruneKit
import PruneNN
import PruneTensor
import Testing

/// Per-kind targets (`PruningPlan.targetsByKind`) and the table of a selection made without a plan.
@Suite struct PerKindTargetTests {
    /// EcoDiff's `binarize(scope: global, ratio)` for one kind: concatenate the kind's scores in model order, stable
    /// sort descending, keep the first `int(N·ratio)`.
    static func ecoDiffKept(_ scores: UnitScores, groups: [UnitGroup], kind: UnitKind, keepRatio: Double) -> Set<String> {
        let units = groups.filter { $0.kind == kind }.flatMap { group in
            scores[group.moduleKey]!.enumerated().map { (name: "\(group.moduleKey)#\($0.offset)", score: $0.element) }
        }
        let order = units.indices.sorted { units[$0].score != units[$1].score ? units[$0].score > units[$1].score : $0 < $1 }
        return Set(order.prefix(Int(Double(units.count) * keepRatio)).map { units[$0].name })
    }

    static func kept(_ selection: UnitSelection, groups: [UnitGroup], kind: UnitKind) -> Set<String> {
        Set(groups.filter { $0.kind == kind }.flatMap { group in selection.keptUnits(of: group).map { "\(group.moduleKey)#\($0)" } })
    }

    @Test("Keeping 68 % of heads and 88 % of neurons selects exactly EcoDiff's per-kind global top-k")
    func ecoDiffRatios() throws {
        let (groups, shapes, scores) = PlanTests.mixed()
        let plan = PruningPlan(
            target: .units(0.9), targetsByKind: [.attentionHead: .units(0.32), .feedForwardNeuron: .units(0.12)])
        let result = try plan.select(scores: scores, groups: groups, shapes: shapes)
        let heads = Self.kept(result.selection, groups: groups, kind: .attentionHead)
        let neurons = Self.kept(result.selection, groups: groups, kind: .feedForwardNeuron)
        #expect(heads.count == 20)  // ⌊30·0.68⌋
        #expect(neurons.count == 8)  // ⌊10·0.88⌋
        #expect(heads == Self.ecoDiffKept(scores, groups: groups, kind: .attentionHead, keepRatio: 0.68))
        #expect(neurons == Self.ecoDiffKept(scores, groups: groups, kind: .feedForwardNeuron, keepRatio: 0.88))
        #expect(plan.targetDescription == "remove 0.9 of units; head: remove 0.32 of units; neuron: remove 0.12 of units")
        #expect(result.text.hasSuffix("target: remove 0.9 of units; head: remove 0.32 of units; neuron: remove 0.12 of units"))
    }

    @Test("A kind without its own target takes the plan's target; per-module scope applies per-kind targets per module")
    func fallbackAndPerModule() throws {
        let (groups, shapes, scores) = PlanTests.mixed()
        let result = try PruningPlan(target: .units(0.2), targetsByKind: [.attentionHead: .units(0.5)])
            .select(scores: scores, groups: groups, shapes: shapes)
        #expect(Self.kept(result.selection, groups: groups, kind: .attentionHead).count == 15)
        #expect(Self.kept(result.selection, groups: groups, kind: .feedForwardNeuron).count == 8)

        let local = try PruningPlan(target: .units(0), scope: .perModule, targetsByKind: [.attentionHead: .units(0.5)])
            .select(scores: scores, groups: groups, shapes: shapes)
        for row in local.rows { #expect(row.kept == (row.kind == .attentionHead ? row.units - (row.units - row.units / 2) : row.units)) }
    }

    @Test("A per-kind parameter target is a fraction of that kind's own parameters")
    func perKindParameters() throws {
        let (groups, shapes, scores) = PlanTests.mixed()
        // Heads own 472 parameters, neurons 80 (8 each).
        let result = try PruningPlan(target: .parameters(0), targetsByKind: [.feedForwardNeuron: .parameters(0.5)])
            .select(scores: scores, groups: groups, shapes: shapes)
        #expect(result.rows.filter { $0.kind == .attentionHead }.allSatisfy { $0.kept == $0.units })
        #expect(result.rows.filter { $0.kind == .feedForwardNeuron }.reduce(0) { $0 + $1.parametersRemoved } == 40)
    }

    @Test("A per-kind model target takes that share of the whole model from that kind alone, and refuses more than the kind holds")
    func perKindModelTarget() throws {
        let (groups, unitShapes, scores) = PlanTests.mixed()
        var shapes = unitShapes
        shapes["conv.weight"] = [100, 8]  // the model: 552 maskable + 800 = 1352 parameters; neurons hold 80
        let result = try PruningPlan(target: .modelParameters(0), targetsByKind: [.feedForwardNeuron: .modelParameters(0.05)])
            .select(scores: scores, groups: groups, shapes: shapes)
        // 0.05 · 1352 = 67.6 parameters: 8 neurons of 8 parameters (64; a 9th would overshoot by more than it undershoots).
        #expect(result.rows.filter { $0.kind == .feedForwardNeuron }.reduce(0) { $0 + $1.parametersRemoved } == 64)
        #expect(result.rows.filter { $0.kind == .attentionHead }.allSatisfy { $0.kept == $0.units })

        #expect(throws: PlanError.targetExceedsKind(0.1, kind: .feedForwardNeuron, maskable: 80.0 / 1352.0)) {
            try PruningPlan(target: .modelParameters(0), targetsByKind: [.feedForwardNeuron: .modelParameters(0.1)])
                .select(scores: scores, groups: groups, shapes: shapes)
        }
        let message = PlanError.targetExceedsKind(0.1, kind: .feedForwardNeuron, maskable: 80.0 / 1352.0).description
        #expect(message.contains("unit kind neuron") && message.contains("0.0592"))
        #expect(throws: PlanError.targetOutOfRange(1.2)) {
            try PruningPlan(targetsByKind: [.attentionHead: .units(1.2)]).select(scores: scores, groups: groups, shapes: shapes)
        }
    }

    @Test("A selection made without a plan gets the same table: named modules eligible, the rest kept whole")
    func givenSelectionTable() throws {
        let (groups, shapes, _) = PlanTests.mixed()
        let selection = UnitSelection(kept: ["a.attn1": [0, 1], "a.ff": [0, 2, 4, 6, 8]])
        let result = PlanResult(selection: selection, groups: groups, shapes: shapes, source: "masks m.safetensors")
        #expect(result.rows.filter(\.eligible).map(\.module) == ["a.attn1", "a.ff"])
        #expect(result.removedParameters == 2 * 16 + 5 * 8)
        #expect(result.removedParameters == selection.removedParameterCount(in: groups, shapes: { shapes[$0] }))
        #expect(result.eligibleParameters == 4 * 16 + 10 * 8)
        #expect(abs(result.removedShare - 72.0 / 144.0) < 1e-12)
        #expect(result.plan.target == .parameters(0.5))
        #expect(result.text.contains("b.attn1 (kept whole)"))
        #expect(result.text.hasSuffix("selected by masks m.safetensors"))
        #expect(try JSONDecoder().decode(PlanResult.self, from: try result.json()) == result)
    }
}
