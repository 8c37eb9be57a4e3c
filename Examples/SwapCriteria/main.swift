// Swap pruning criteria in code, and add one of your own.
//
//     swift run swap-criteria
//
// Every criterion scores the same model under the same plan; the example prints how many units each
// keeps and how far each selection agrees with magnitude's.

import Foundation
import PruneKit
import PruneNN
import PruneSDXL
import PruneTensor

/// A criterion defined in the application: the L1 norm of each unit's output-side weights only.
struct OutputColumnsCriterion: PruningCriterion {
    var name: String { "output-l1" }
    var summary: String { "L1 norm of each unit's output-projection columns (data-free)" }
    var requiresCalibration: Bool { false }

    func scores(in context: ScoringContext) throws -> UnitScores {
        var scores = UnitScores()
        for group in context.groups {
            // The last slice along axis 1 is the output projection's columns (to_out.0, ff.net.2).
            guard let slice = group.slices.last(where: { $0.axis == 1 }), let weight = context.parameters[slice.key] else {
                throw CriterionError.missingParameter(key: group.slices.last?.key ?? "?", module: group.moduleKey)
            }
            let values = weight.abs().sum(axes: [0]).scalars()  // [in]: one sum per input column
            scores[group.moduleKey] = (0..<group.unitCount).map { unit in slice.indices(ofUnit: unit).reduce(0) { $0 + values[$1] } }
        }
        return scores
    }
}

let registry = CriterionRegistry.withBuiltIns()
try registry.register(OutputColumnsCriterion())

let model = try SDXLArchitecture().makeModel(preset: "sdxl-tiny", seed: 1)
let prompts = model.randomConditioning(count: 1, seed: 2)
let calibration = try model.calibrationSamples(
    prompts: prompts, settings: TrajectorySettings(steps: 2, height: 64, width: 64), seed: 2)
let context = ScoringContext(
    groups: model.unitGroups, parameters: model.parameters.parameters, calibration: calibration, seed: 2)
let plan = PruningPlan(target: .units(0.3))

var selections: [String: UnitSelection] = [:]
for name in ["magnitude", "random", "taylor", "activation", "output-l1"] {
    let criterion = try registry.criterion(named: name)
    let result = try plan.select(scores: try criterion.scores(in: context), groups: model.unitGroups, shapes: context.shapes)
    selections[name] = result.selection
    print("\(name.padding(toLength: 11, withPad: " ", startingAt: 0)) kept \(result.selection.kept.values.reduce(0) { $0 + $1.count }) units, removed \(result.removedParameters) parameters")
}

/// Share of units both selections keep, over the units either keeps.
func agreement(_ a: UnitSelection, _ b: UnitSelection) -> Double {
    var both = 0
    var either = 0
    for (module, kept) in a.kept {
        let other = Set(b.kept[module] ?? [])
        both += kept.filter(other.contains).count
        either += Set(kept).union(other).count
    }
    return either == 0 ? 1 : Double(both) / Double(either)
}
for name in ["random", "taylor", "activation", "output-l1"] {
    print("agreement of \(name) with magnitude: \(String(format: "%.2f", agreement(selections[name]!, selections["magnitude"]!)))")
}
