// Prune a real SDXL or FLUX checkpoint from a local path.
//
//     swift run -c release prune-real-checkpoint PATH [--target F] [--out DIR] [--dry-run]
//
// PATH is a diffusers `unet/` or `transformer/` folder (config.json + safetensors, sharded or not), a
// pipeline folder holding one, a Black Forest Labs single-file FLUX checkpoint (`flux1-dev.safetensors`
// or `flux1-schnell.safetensors`), or `preset:NAME` (e.g. `preset:sdxl-base`) for the real configuration
// with random weights, to measure before downloading anything. `--time-step` times one denoising step
// of the model's default trajectory (e.g. 1024² with CFG for SDXL base) on random conditioning, then exits. The example prints what loading will cost before it loads anything,
// then prunes with the data-free magnitude criterion and exports. For EcoDiff use `prunekit prune` with
// `--embeddings` (see this folder's README).

import Foundation
import PruneFlux
import PruneKit
import PruneNN
import PruneSDXL
import PruneTensor

/// The process's peak resident memory so far.
func peakResidentGiB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / Double(1 << 20)
}

/// The value after `name` in `arguments`, removing both.
func option(_ name: String, from arguments: inout [String]) -> String? {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    defer { arguments.removeSubrange(index...(index + 1)) }
    return arguments[index + 1]
}
var arguments = Array(CommandLine.arguments.dropFirst())
let target = Double(option("--target", from: &arguments) ?? "0.2") ?? 0.2
let out = option("--out", from: &arguments) ?? "pruned"
let dryRun = arguments.contains("--dry-run")
let timeStep = arguments.contains("--time-step")
arguments.removeAll { $0 == "--dry-run" || $0 == "--time-step" }
guard let path = arguments.first else {
    FileHandle.standardError.write(Data("usage: prune-real-checkpoint PATH [--target F] [--out DIR] [--dry-run]\n".utf8))
    exit(2)
}

/// Parameters of the checkpoint from its configuration alone (nothing is read from the weights).
func accounting(of path: String) throws -> (name: String, accounting: ModelAccounting) {
    if path.hasPrefix("preset:") {
        let (architecture, preset) = try ArchitectureRegistry.shared.preset(named: String(path.dropFirst(7)))
        return ("preset \(preset.name)", try architecture.accounting(preset: preset.name))
    }
    if path.hasSuffix(".safetensors") {
        let configuration: FluxConfiguration = path.lowercased().contains("schnell") ? .fluxSchnell : .fluxDev
        return ("FLUX (Black Forest Labs file)", ModelAccounting(layout: FluxTransformer2DModel.layout(configuration: configuration)))
    }
    let directory = FileManager.default.fileExists(atPath: path + "/unet/config.json") ? path + "/unet"
        : FileManager.default.fileExists(atPath: path + "/transformer/config.json") ? path + "/transformer" : path
    switch try ArchitectureRegistry.className(directory: directory) {
    case UNet2DConditionModel.className:
        let configuration = try UNetConfiguration.load(contentsOf: directory + "/config.json")
        return ("SDXL U-Net", ModelAccounting(layout: try UNet2DConditionModel.layout(of: configuration)))
    default:
        let configuration = try FluxConfiguration.load(path: directory + "/config.json")
        return ("FLUX transformer", ModelAccounting(layout: FluxTransformer2DModel.layout(configuration: configuration)))
    }
}

let registry = ArchitectureRegistry.shared
try registry.registerIfAbsent(SDXLArchitecture())
try registry.registerIfAbsent(FluxArchitecture())
let (name, counts) = try accounting(of: path)
let gibibytes = Double(counts.parameters) * 4 / Double(1 << 30)
print("\(name): \(counts.parameters) parameters, \(counts.heads) heads, \(counts.ffnNeurons) FFN neurons")
print(String(format: "weights as float32 in memory: %.1f GiB (16-bit files are widened per tensor as they load)", gibibytes))
let physical = Double(ProcessInfo.processInfo.physicalMemory) / Double(1 << 30)
if gibibytes * 1.2 > physical {
    print(String(format: "this machine has %.1f GiB: loading needs about %.1f GiB and will not fit", physical, gibibytes * 1.2))
}
if dryRun { exit(0) }

let start = Date()
let model: any PrunableModel
if path.hasPrefix("preset:") {
    model = try registry.makeModel(preset: String(path.dropFirst(7)), seed: 0)
} else if path.hasSuffix(".safetensors") {
    let configuration: FluxConfiguration = path.lowercased().contains("schnell") ? .fluxSchnell : .fluxDev
    let loaded = try FluxModelLoader.loadBlackForestLabs(file: path, configuration: configuration)
    model = FluxPrunableModel(transformer: loaded.model, parameters: loaded.parameters)
} else {
    let directory = FileManager.default.fileExists(atPath: path + "/unet/config.json") ? path + "/unet" : path
    model = try registry.loadModel(directory: directory)
}
print(String(format: "loaded in %.1f s, peak resident %.1f GiB", Date().timeIntervalSince(start), peakResidentGiB()))
if timeStep {
    let prepared = try model.trajectory(
        conditioning: model.randomConditioning(count: 1, seed: 0)[0], settings: TrajectorySettings(steps: 1), seed: 0)
    let noise = Tensor.randomNormal(prepared.noiseShape, seed: 0)
    let stepStart = Date()
    _ = try withoutGradients { try prepared.trajectory.step(prepared.trajectory.initialLatents(noise: noise), index: 0, masks: .none) }
    print(String(format: "one denoising step (latents %@): %.1f s, peak resident %.1f GiB",
        "\(prepared.noiseShape)", Date().timeIntervalSince(stepStart), peakResidentGiB()))
    exit(0)
}
let context = ScoringContext(groups: model.unitGroups, parameters: model.parameters.parameters)
let scores = try MagnitudeCriterion().scores(in: context)
let result = try PruningPlan(target: .parameters(target)).select(scores: scores, groups: model.unitGroups, shapes: context.shapes)
print(result.text)
let manifest = try model.exportPruned(
    selection: result.selection, to: out, provenance: PruningProvenance(criterion: "magnitude", target: target, sourceDirectory: path.hasSuffix(".safetensors") ? nil : path),
    replacing: false, dtype: .float16)
print("wrote \(out) (float16): \(manifest.parameterCount) parameters (from \(manifest.source.parameterCount))")
