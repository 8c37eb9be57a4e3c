import Foundation
import PruneKit
import PruneNN
import PruneTensor
import Testing

/// Binarising scores into a selection: targets, scopes, floors, patterns, ties, errors and the table.
@Suite struct PlanTests {
    /// A head group `key` of `units` heads of width `width` over a `[units·width, 8]` projection.
    static func headGroup(_ key: String, units: Int, width: Int) -> (UnitGroup, [String: [Int]]) {
        (
            UnitGroup(moduleKey: key, kind: .attentionHead, unitCount: units, slices: [ParameterSlice(key: "\(key).q", axis: 0, width: width)]),
            ["\(key).q": [units * width, 8]]
        )
    }

    /// Six head modules of varied widths (costs 8·width) and an FFN module, with seeded random scores.
    static func mixed() -> (groups: [UnitGroup], shapes: [String: [Int]], scores: UnitScores) {
        var groups: [UnitGroup] = []
        var shapes: [String: [Int]] = [:]
        let layout = [("a.attn1", 4, 2), ("a.attn2", 4, 3), ("b.attn1", 6, 1), ("b.attn2", 3, 5), ("c.attn1", 5, 2), ("c.attn2", 8, 1)]
        for (key, units, width) in layout {
            let (group, shape) = headGroup(key, units: units, width: width)
            groups.append(group)
            shapes.merge(shape) { $1 }
        }
        groups.append(UnitGroup(moduleKey: "a.ff", kind: .feedForwardNeuron, unitCount: 10, slices: [ParameterSlice(key: "a.ff.up", axis: 0, width: 1)]))
        shapes["a.ff.up"] = [10, 8]
        var generator = SeededGenerator(seed: 11)
        let scores = UnitScores(Dictionary(uniqueKeysWithValues: groups.map { group in
            (group.moduleKey, (0..<group.unitCount).map { _ in generator.nextUniform() })
        }))
        return (groups, shapes, scores)
    }

    @Test("A global parameter target is hit within one unit's cost, for each unit kind", arguments: [0.1, 0.25, 0.5, 0.8])
    func parameterTarget(fraction: Double) throws {
        let (groups, shapes, scores) = Self.mixed()
        let result = try PruningPlan(target: .parameters(fraction)).select(scores: scores, groups: groups, shapes: shapes)
        try result.selection.validate(against: groups)
        for kind in [UnitKind.attentionHead, .feedForwardNeuron] {
            let rows = result.rows.filter { $0.kind == kind }
            let total = rows.reduce(0) { $0 + $1.units * $1.parametersPerUnit }
            let removed = rows.reduce(0) { $0 + $1.parametersRemoved }
            let maxCost = rows.map(\.parametersPerUnit).max()!
            #expect(abs(Double(removed) - fraction * Double(total)) <= Double(maxCost), "kind \(kind): \(removed) of \(total)")
        }
        #expect(result.removedParameters == result.selection.removedParameterCount(in: groups, shapes: { shapes[$0] }))
    }

    @Test("Global ranking removes the lowest scores first across modules")
    func globalOrder() throws {
        let (groups, shapes, scores) = Self.mixed()
        let result = try PruningPlan(target: .units(0.5)).select(scores: scores, groups: groups, shapes: shapes)
        let heads = groups.filter { $0.kind == .attentionHead }
        let kept = heads.flatMap { g in result.selection.keptUnits(of: g).map { scores[g.moduleKey]![$0] } }
        let removed = heads.flatMap { g in (0..<g.unitCount).filter { !result.selection.keptUnits(of: g).contains($0) }.map { scores[g.moduleKey]![$0] } }
        #expect(kept.count == 30 - 15)  // 30 heads: keep ⌊30·0.5⌋
        #expect(removed.max()! < kept.min()!)
    }

    @Test("Joint ranking pools heads and neurons: the lowest scores go whatever their kind, and the total budget holds")
    func jointOrder() throws {
        let (groups, shapes, _) = Self.mixed()
        // Every neuron scores below every head: a joint 10 % budget comes from the neurons alone.
        var scores = UnitScores(Dictionary(uniqueKeysWithValues: groups.map { group in
            (group.moduleKey, (0..<group.unitCount).map { Float($0) + (group.kind == .attentionHead ? 100 : 0) })
        }))
        let total = groups.reduce(0) { $0 + $1.unitParameterCounts(shapes: { shapes[$0] }).reduce(0, +) }
        let joint = try PruningPlan(target: .parameters(0.1), scope: .joint).select(scores: scores, groups: groups, shapes: shapes)
        #expect(joint.rows.filter { $0.kind == .attentionHead }.allSatisfy { $0.kept == $0.units })
        #expect(abs(Double(joint.removedParameters) - 0.1 * Double(total)) <= 8)  // within one neuron's cost
        let global = try PruningPlan(target: .parameters(0.1), scope: .global).select(scores: scores, groups: groups, shapes: shapes)
        #expect(global.rows.contains { $0.kind == .attentionHead && $0.kept < $0.units })
        // A kind with its own target keeps its own pool: heads lose their 50 %, the neurons stay out of it.
        scores["a.ff"] = (0..<10).map { Float($0) + 1000 }
        let split = try PruningPlan(target: .parameters(0.1), scope: .joint, targetsByKind: [.attentionHead: .units(0.5)])
            .select(scores: scores, groups: groups, shapes: shapes)
        #expect(split.rows.filter { $0.kind == .attentionHead }.reduce(0) { $0 + $1.units - $1.kept } == 15)
        #expect(split.rows.first { $0.module == "a.ff" }!.kept == 9)  // 10 % of its 80 parameters
    }

    @Test("Per-module unit targets keep ⌊n·(1 − fraction)⌋ units in every module")
    func perModule() throws {
        let (groups, shapes, scores) = Self.mixed()
        let result = try PruningPlan(target: .units(0.5), scope: .perModule).select(scores: scores, groups: groups, shapes: shapes)
        for row in result.rows { #expect(row.kept == row.units / 2, "\(row.module)") }
    }

    @Test("A per-module minimum keeps that many units even when a module scores lowest; 0 allows empty modules")
    func minimumKept() throws {
        let (groups, shapes) = ([Self.headGroup("x.attn1", units: 4, width: 1).0, Self.headGroup("y.attn1", units: 4, width: 1).0],
            ["x.attn1.q": [4, 8], "y.attn1.q": [4, 8]])
        let scores = UnitScores(["x.attn1": [0.1, 0.2, 0.3, 0.4], "y.attn1": [5, 6, 7, 8]])
        let floored = try PruningPlan(target: .units(0.5), minimumKeptPerModule: 2).select(scores: scores, groups: groups, shapes: shapes)
        #expect(floored.selection.kept["x.attn1"] == [2, 3])
        #expect(floored.selection.kept["y.attn1"] == [2, 3])  // the floor pushes the remaining removals to y
        let open = try PruningPlan(target: .units(0.5)).select(scores: scores, groups: groups, shapes: shapes)
        #expect(open.selection.kept["x.attn1"] == [])
        #expect(open.selection.kept["y.attn1"] == [0, 1, 2, 3])
        let all = try PruningPlan(target: .parameters(1), minimumKeptPerModule: 1).select(scores: scores, groups: groups, shapes: shapes)
        #expect(all.rows.map(\.kept) == [1, 1])
    }

    @Test("Include and exclude patterns limit the ranking; other modules keep everything")
    func patterns() throws {
        let (groups, shapes, scores) = Self.mixed()
        let cross = try PruningPlan(target: .units(1), include: [ModulePattern("*.attn2")]).select(scores: scores, groups: groups, shapes: shapes)
        #expect(Set(cross.selection.kept.keys) == ["a.attn2", "b.attn2", "c.attn2"])
        for row in cross.rows { #expect(row.kept == (row.module.hasSuffix(".attn2") ? 0 : row.units)) }
        let noB = try PruningPlan(target: .units(1), include: [ModulePattern("re:.*\\.attn[12]")], exclude: [ModulePattern("b.*")])
            .select(scores: scores, groups: groups, shapes: shapes)
        #expect(Set(noB.selection.kept.keys) == ["a.attn1", "a.attn2", "c.attn1", "c.attn2"])
        #expect(noB.rows.first { $0.module == "b.attn1" }?.eligible == false)
        #expect(try ModulePattern("down_blocks.?.attentions.*.attn2").matches("down_blocks.1.attentions.0.transformer_blocks.0.attn2"))
        #expect(try !ModulePattern("*.attn2").matches("a.attn2.extra"))
        #expect(throws: PlanError.self) { try ModulePattern("re:(").matches("a") }
    }

    @Test("Ties are broken deterministically: the lower index (earlier in model order) is kept")
    func ties() throws {
        let groups = [Self.headGroup("a.attn1", units: 3, width: 1).0, Self.headGroup("b.attn1", units: 3, width: 1).0]
        let shapes = ["a.attn1.q": [3, 8], "b.attn1.q": [3, 8]]
        let scores = UnitScores(["a.attn1": [1, 1, 1], "b.attn1": [1, 1, 1]])
        let result = try PruningPlan(target: .units(0.5)).select(scores: scores, groups: groups, shapes: shapes)
        #expect(result.selection.kept == ["a.attn1": [0, 1, 2], "b.attn1": []])
        let local = try PruningPlan(target: .units(0.5), scope: .perModule).select(scores: scores, groups: groups, shapes: shapes)
        #expect(local.selection.kept == ["a.attn1": [0], "b.attn1": [0]])
        #expect(try PruningPlan(target: .units(0.5)).select(scores: scores, groups: groups, shapes: shapes) == result)
    }

    @Test("Target 0 keeps every unit and target 1 removes every maskable unit")
    func extremes() throws {
        let (groups, shapes, scores) = Self.mixed()
        for target in [PruningPlan.Target.parameters(0), .units(0)] {
            let none = try PruningPlan(target: target).select(scores: scores, groups: groups, shapes: shapes)
            #expect(none.removedUnits == 0)
            #expect(none.rows.allSatisfy { $0.kept == $0.units })
        }
        for target in [PruningPlan.Target.parameters(1), .units(1)] {
            for scope in PruningPlan.Scope.allCases {
                let all = try PruningPlan(target: target, scope: scope).select(scores: scores, groups: groups, shapes: shapes)
                #expect(all.rows.allSatisfy { $0.kept == 0 })
                #expect(all.removedParameters == all.maskableParameters)
            }
        }
        #expect(throws: PlanError.targetOutOfRange(1.5)) {
            try PruningPlan(target: .parameters(1.5)).select(scores: scores, groups: groups, shapes: shapes)
        }
    }

    @Test("A model-parameter target takes that share of all the model's parameters from the maskable units", arguments: [0.1, 0.2, 0.4])
    func modelParameterTarget(fraction: Double) throws {
        let (groups, unitShapes, scores) = Self.mixed()
        var shapes = unitShapes
        shapes["conv.weight"] = [100, 8]  // 800 parameters that belong to no unit; 552 are maskable
        let modelParameters = 552 + 800
        let result = try PruningPlan(target: .modelParameters(fraction)).select(scores: scores, groups: groups, shapes: shapes)
        #expect(result.maskableParameters == 552)
        // Each kind gives up the same share of its own parameters, so the total lands within a unit per kind.
        let maxCosts = [UnitKind.attentionHead, .feedForwardNeuron].map { kind in
            result.rows.filter { $0.kind == kind }.map(\.parametersPerUnit).max()!
        }
        let budget = fraction * Double(modelParameters)
        #expect(abs(Double(result.removedParameters) - budget) <= Double(maxCosts.reduce(0, +)), "\(result.removedParameters) of \(budget)")
        let equivalent = try PruningPlan(target: .parameters(budget / 552)).select(scores: scores, groups: groups, shapes: shapes)
        #expect(result.selection == equivalent.selection)
    }

    @Test("A model-parameter target beyond the maskable share is an error that names both; 0 keeps everything")
    func modelParameterTargetTooLarge() throws {
        let (groups, unitShapes, scores) = Self.mixed()
        var shapes = unitShapes
        shapes["conv.weight"] = [100, 8]
        #expect(throws: PlanError.targetExceedsMaskable(0.5, maskable: 552.0 / 1352.0)) {
            try PruningPlan(target: .modelParameters(0.5)).select(scores: scores, groups: groups, shapes: shapes)
        }
        let error = PlanError.targetExceedsMaskable(0.5, maskable: 552.0 / 1352.0)
        #expect(error.description.contains("0.5 of the model's parameters") && error.description.contains("0.4083"))
        let none = try PruningPlan(target: .modelParameters(0)).select(scores: scores, groups: groups, shapes: shapes)
        #expect(none.removedUnits == 0)
        // Excluding modules shrinks the maskable share the target can draw on.
        #expect(throws: PlanError.self) {
            try PruningPlan(target: .modelParameters(0.3), exclude: [ModulePattern("a.*")])
                .select(scores: scores, groups: groups, shapes: shapes)
        }
    }

    @Test("A NaN score is a typed error naming the module; missing scores too")
    func nanScores() throws {
        var (groups, shapes, scores) = Self.mixed()
        scores["b.attn2"]![1] = .nan
        #expect(throws: PlanError.nanScore(module: "b.attn2", unit: 1)) {
            try PruningPlan().select(scores: scores, groups: groups, shapes: shapes)
        }
        // An excluded module's NaN does not matter.
        _ = try PruningPlan(exclude: [ModulePattern("b.attn2")]).select(scores: scores, groups: groups, shapes: shapes)
        scores["b.attn2"] = nil
        #expect(throws: PlanError.missingScores(module: "b.attn2")) {
            try PruningPlan().select(scores: scores, groups: groups, shapes: shapes)
        }
        groups.append(groups[0])
        _ = groups
    }

    @Test("The per-module table prints as text and round-trips through JSON")
    func table() throws {
        let (groups, shapes, scores) = Self.mixed()
        let result = try PruningPlan(target: .parameters(0.3), exclude: [ModulePattern("c.*")]).select(scores: scores, groups: groups, shapes: shapes)
        let text = result.text
        print(text)
        #expect(text.contains("a.attn1"))
        #expect(text.contains("c.attn1 (excluded)"))
        #expect(text.contains("params removed"))
        let decoded = try JSONDecoder().decode(PlanResult.self, from: try result.json())
        #expect(decoded == result)
        let json = String(decoding: try result.json(), as: UTF8.self)
        #expect(json.contains("\"parametersRemoved\""))
    }
}
