import CBLAS
import Foundation
import PruneFlux
import PruneKit
import PruneNN
import PruneSDXL
import PruneTensor

/// Writes the one source of weights and inputs that both sides of the PyTorch comparison read
/// (`prunekit-bench compare-setup WORK`):
///
/// - `<model>/model/`: `config.json` (diffusers keys and `_class_name`) and `diffusion_pytorch_model.safetensors`
///   (float32) of the bench model with the preset's seeded weights;
/// - `<model>/inputs-b1.safetensors`, `inputs-b2.safetensors`: forward inputs by diffusers argument name;
/// - `<model>/masks.safetensors`: `mask.<module key>` values in [0.5, 1) and `loss_weights` shaped like the
///   batch-1 output, for the forward + backward row; `__metadata__["modules"]` = `[[key, units, kind], …]`;
/// - `<model>/trajectory.safetensors`: `prompt_embeds`, `pooled_prompt_embeds`, `noise` and the hard-concrete
///   uniform draws `u.<step>.<module key>` of every step, with the EcoDiff settings in `__metadata__["ecodiff"]`;
/// - `<model>/pruned-10|20|30/`: the model with 10, 20 and 30 % of its parameters removed, units chosen by the
///   `magnitude` criterion through ``PruningPlan`` and ``PrunedExport`` (`prunekit.json` records the selection);
/// - `setup.json`: parameter counts before and after pruning.
///
/// Every file is written atomically.
enum ComparisonSetup {
    /// Percentages of the model's parameters removed for the pruned-forward rows (taken from the maskable
    /// units; EcoDiff's "20 %" likewise counts the whole model: SDXL's 2.6 B → 2.1 B, FLUX's 12 B → 9.6 B).
    static let prunedPercents = [10, 20, 30]

    /// Writes everything under `work` for trajectories of `steps` steps; prints what it wrote.
    /// - Throws: export, I/O and model errors.
    static func run(work: String, steps: Int) throws {
        let paths = ComparisonPaths(work: work)
        var summary: [String: Any] = [
            "steps": steps, "threads": ComputeThreads.count, "openblas_config": BLASLibrary.summary,
        ]
        for model in ComparisonModel.all {
            summary[model.name] = try write(model, paths: paths, steps: steps)
        }
        let data = try JSONSerialization.data(withJSONObject: summary, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: paths.manifest), options: .atomic)
        print("wrote \(paths.manifest)")
    }

    private static func write(_ spec: ComparisonModel, paths: ComparisonPaths, steps: Int) throws -> [String: Any] {
        let registry = ComparisonRegistry.shared
        let built = try registry.makeModel(preset: spec.preset, seed: ComparisonModel.weightSeed)
        let modelDirectory = paths.modelDirectory(spec)
        let configuration = try built.configurationJSON(sourceDirectory: nil)
        try AtomicDirectoryWriter.write(to: modelDirectory, replacing: true) { temporary in
            try SafetensorsWriter.write(
                built.parameters.parameters, metadata: ["format": "pt"], to: temporary + "/diffusion_pytorch_model.safetensors")
            try configuration.write(to: URL(fileURLWithPath: temporary + "/config.json"), options: .atomic)
        }
        print("wrote \(modelDirectory): \(built.parameters.parameterCount) parameters")

        for batch in [1, 2] {
            try SafetensorsWriter.write(spec.forwardInputs(batch: batch), to: paths.forwardInputs(spec, batch: batch))
        }
        // The model as the rows load it: from the directory just written.
        let model = try registry.loadModel(directory: modelDirectory)
        let groups = model.comparedUnitGroups
        try writeMasks(spec, model: model, to: paths.masks(spec))
        try writeTrajectory(spec, model: model, steps: steps, to: paths.trajectory(spec))

        let parameters = model.parameters.parameters
        let scores = try MagnitudeCriterion().scores(in: ScoringContext(groups: groups, parameters: parameters))
        var pruned: [String: Any] = [:]
        let total = model.parameters.parameterCount
        let shapes = parameters.mapValues(\.shape)
        for percent in prunedPercents {
            // `percent` of the model's parameters, taken from the maskable ones (EcoDiff's "20 %" counts the model).
            let plan = PruningPlan(target: .modelParameters(Double(percent) / 100))
            let result = try plan.select(scores: scores, groups: groups, shapes: shapes)
            let directory = paths.prunedDirectory(spec, percent: percent)
            let manifest = try model.exportPruned(
                selection: result.selection, to: directory,
                provenance: PruningProvenance(criterion: "magnitude", target: Double(percent) / 100, seed: 0, sourceDirectory: modelDirectory),
                replacing: true, dtype: .float32)
            let emptied = result.rows.filter { $0.units > 0 && $0.kept == 0 }.map(\.module)
            let ofMaskable = Double(result.removedParameters) / Double(max(result.maskableParameters, 1))
            let ofModel = Double(result.removedParameters) / Double(max(total, 1))
            pruned[String(percent)] = [
                "parameters": manifest.parameterCount, "removed_parameters": result.removedParameters,
                "maskable_parameters": result.maskableParameters, "removed_units": result.removedUnits,
                "removed_fraction_of_maskable": ofMaskable, "removed_fraction_of_model": ofModel, "emptied_modules": emptied,
            ]
            print(
                "wrote \(directory): \(manifest.parameterCount) parameters, "
                    + String(format: "%.1f%% of the model's parameters removed (%.1f%% of the maskable ones)", 100 * ofModel, 100 * ofMaskable))
        }
        let accounting = model.accounting
        return [
            "preset": spec.preset, "parameters": model.parameters.parameterCount, "modules": groups.count,
            "heads": accounting.heads, "ffn_neurons": accounting.ffnNeurons, "pruned": pruned,
        ]
    }

    /// `mask.<key>` in [0.5, 1) for every maskable module and `loss_weights` like the batch-1 output.
    private static func writeMasks(_ spec: ComparisonModel, model: any PrunableModel, to path: String) throws {
        var tensors: [String: Tensor] = [:]
        for (index, group) in model.comparedUnitGroups.enumerated() {
            tensors[UnitMasks.filePrefix + group.moduleKey] = Tensor.randomUniform(
                [group.unitCount], low: 0.5, high: 1, seed: 1000 + UInt64(index))
        }
        let output = try withoutGradients { try model.forward(spec.forwardInputs(batch: 1), masks: .none) }
        tensors["loss_weights"] = Tensor.randomNormal(output.shape, seed: 999)
        try SafetensorsWriter.write(tensors, metadata: ["modules": moduleList(model.comparedUnitGroups)], to: path)
    }

    /// Conditioning, initial noise, every step's mask-noise draws and the EcoDiff settings.
    private static func writeTrajectory(_ spec: ComparisonModel, model: any PrunableModel, steps: Int, to path: String) throws {
        let conditioning = spec.promptConditioning()
        let prepared = try model.trajectory(
            conditioning: PromptConditioning(conditioning, source: path), settings: spec.trajectorySettings(steps: steps), seed: 0)
        var tensors = conditioning
        tensors["noise"] = Tensor.randomNormal(prepared.noiseShape, seed: 13)
        let modules = model.comparedUnitGroups.map { (key: $0.moduleKey, count: $0.unitCount) }
        let noise = MaskNoise(seed: ComparisonModel.maskNoiseSeed)
        for step in 0..<prepared.trajectory.stepCount {
            for (key, draw) in noise.uniforms(step: step, modules: modules) { tensors["u.\(step).\(key)"] = draw }
        }
        let metadata = [
            "modules": moduleList(model.comparedUnitGroups), "ecodiff": try ecoDiffDescription(model.ecoDiffSettings),
            "trajectory": try json([
                "scheduler": spec.scheduler.rawValue, "steps": prepared.trajectory.stepCount,
                "guidance_scale": Double(spec.guidanceScale), "height": spec.imageSide, "width": spec.imageSide,
            ]),
        ]
        try SafetensorsWriter.write(tensors, metadata: metadata, to: path)
    }

    /// `[[key, units, kind], …]` in model order.
    private static func moduleList(_ groups: [UnitGroup]) -> String {
        "[" + groups.map { "[\"\($0.moduleKey)\",\($0.unitCount),\"\($0.kind.rawValue)\"]" }.joined(separator: ",") + "]"
    }

    /// The EcoDiff settings as JSON: hard-concrete constants, initial λ, penalty, β and per-kind learning rates.
    private static func ecoDiffDescription(_ settings: EcoDiffSettings) throws -> String {
        guard case .hardConcrete(let gate) = settings.parametrization else {
            throw ComparisonError.unsupported("the comparison expects hard-concrete masks")
        }
        let penalty: [String: Any]
        switch settings.objective.penalty {
        case .l1Lambda: penalty = ["kind": "l1_lambda"]
        case .l1Sigmoid(let scale, let shift): penalty = ["kind": "l1_sigmoid", "scale": Double(scale), "shift": Double(shift)]
        case .expectedL0: throw ComparisonError.unsupported("the comparison does not mirror the expected-L0 penalty")
        }
        var rates: [String: Double] = [:]
        for (kind, rate) in settings.learningRates { rates[kind.rawValue] = Double(rate) }
        return try json([
            "temperature": Double(gate.temperature), "stretch_lower": Double(gate.stretchLower),
            "stretch_upper": Double(gate.stretchUpper), "noise_bound": Double(gate.noiseBound),
            "initial_lambda": Double(MaskSet.defaultInitialValue), "penalty": penalty,
            "penalty_weight": Double(settings.objective.penaltyWeight),
            "penalized_kinds": settings.objective.penalizedKinds.map(\.rawValue).sorted(),
            "learning_rates": rates, "weight_decay": 0.01, "betas": [0.9, 0.999], "epsilon": 1e-8,
        ])
    }

    private static func json(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }
}

/// A comparison run that cannot go on, with the reason.
enum ComparisonError: Error, CustomStringConvertible {
    case unsupported(String)
    case badArguments(String)
    case missingFile(path: String, reason: String)

    var description: String {
        switch self {
        case .unsupported(let reason): reason
        case .badArguments(let reason): reason
        case .missingFile(let path, let reason): "\(path): \(reason)"
        }
    }
}

/// The architecture registry with SDXL and FLUX registered.
enum ComparisonRegistry {
    static let shared: ArchitectureRegistry = {
        let registry = ArchitectureRegistry.shared
        try? registry.registerIfAbsent(SDXLArchitecture())
        try? registry.registerIfAbsent(FluxArchitecture())
        return registry
    }()
}
