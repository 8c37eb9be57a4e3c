// Prune a diffusion model from Swift code: load (or build), score, plan, export.
//
//     swift run prune-from-code [MODEL_DIR] [OUT_DIR]
//
// Without MODEL_DIR the example builds the `sdxl-tiny` preset with seeded random weights.

import Foundation
import PruneFlux
import PruneKit
import PruneSDXL

let arguments = CommandLine.arguments.dropFirst()
let registry = ArchitectureRegistry.shared
try registry.registerIfAbsent(SDXLArchitecture())
try registry.registerIfAbsent(FluxArchitecture())

// 1. The model: any directory whose config.json names a registered architecture, or a preset.
let model: any PrunableModel =
    if let directory = arguments.first { try registry.loadModel(directory: directory) }
    else { try registry.makeModel(preset: "sdxl-tiny", seed: 0) }
print("\(model.architectureName): \(model.accounting.parameters) parameters, \(model.unitGroups.count) maskable modules")

// 2. Scores: L2 norm of every head's and FFN neuron's weights (data-free).
let context = ScoringContext(groups: model.unitGroups, parameters: model.parameters.parameters)
let scores = try MagnitudeCriterion(norm: .l2).scores(in: context)

// 3. The plan: remove 25% of the maskable parameters, ranking globally, keeping one unit per module.
let plan = PruningPlan(target: .parameters(0.25), scope: .global, minimumKeptPerModule: 1)
let result = try plan.select(scores: scores, groups: model.unitGroups, shapes: context.shapes)
print(result.text)

// 4. Surgery and export: a smaller dense model in diffusers layout, prunekit.json and the masks.
let out = arguments.dropFirst().first ?? FileManager.default.temporaryDirectory.appendingPathComponent("pruned-from-code").path
let manifest = try model.exportPruned(
    selection: result.selection, to: out, provenance: PruningProvenance(criterion: "magnitude", target: 0.25), replacing: true)
print("wrote \(out): \(manifest.parameterCount) parameters (from \(manifest.source.parameterCount))")

// 5. The export reloads like any model directory, with its pruned widths.
let reloaded = try registry.loadModel(directory: out)
print("reloaded: \(reloaded.accounting.parameters) parameters, \(reloaded.accounting.heads) heads")
