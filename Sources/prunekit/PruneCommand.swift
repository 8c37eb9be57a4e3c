import ArgumentParser
import Foundation
import PruneDemo
import PruneKit
import PruneNN
import PrunePipelines
import PruneTensor

/// `prunekit prune`: score units with a criterion, select them for a target, and export the smaller model.
struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Score heads and FFN neurons, remove the least important, and export a smaller diffusers model.",
        discussion: """
            With no --model and no --preset, prunes the embedded SDXL-architecture demo model (Models/demo-sdxl) with \
            EcoDiff at 20 % and writes the pruned model to prunekit-demo/pruned-demo-sdxl and a report (report.md, \
            report.json, original-vs-pruned PNG grids, the loss curve, kept units per module) to prunekit-demo/report. \
            --report DIR writes the same report for any demo model. Demo models calibrate on their 72 prompts unless \
            --prompts is given.

            Calibration: one trajectory per prompt of --embeddings (prompt_embeds etc. may hold P prompts in \
            dimension 0; each becomes a batch-1 sample), initial noise drawn from --seed per prompt, target = the \
            unmasked model's final latents. Data-free criteria (magnitude, random) skip the calibration runs. \
            ecodiff trains with the architecture's EcoDiff settings (SDXL: EcoDiff's; FLUX: EcoDiff's objective with its SDXL gate and rates, see docs/decisions.md). Progress goes to stderr; \
            the plan table to stdout. See `prunekit criteria` for the criteria.

            Masks in and out: --masks FILE exports with the given binary masks (mask.<module key>, one 0/1 value per \
            unit; no criterion, no calibration, no target); --scores FILE plans from given per-unit scores \
            (score.<module key> or mask.<module key>, higher = keep) with the usual --target, --target-kind, --scope, \
            --include and --exclude. Modules the file does not name are kept whole. Every export holds the binary \
            masks of its selection in masks.safetensors; --save-scores FILE also writes the criterion's scores.
            """)

    /// What `--target` is a fraction of.
    enum TargetKind: String, CaseIterable, ExpressibleByArgument {
        /// The eligible maskable parameters (heads and FFN neurons).
        case parameters
        /// The eligible units.
        case units
        /// All of the model's parameters, taken from the maskable units (EcoDiff's "20 %").
        case model
    }
    enum Scope: String, CaseIterable, ExpressibleByArgument {
        case global
        case perModule = "per-module"
        case joint
        var plan: PruningPlan.Scope {
            switch self {
            case .global: .global
            case .perModule: .perModule
            case .joint: .joint
            }
        }
    }

    @Option(help: "A model directory (its config.json names the architecture).") var model: String?
    @Option(help: "A pruning criterion (see `prunekit criteria`; default: ecodiff).") var criterion: String?
    @Option(help: "Fraction to remove, in [0, 1] (default: 0.2).") var target: Double?
    @Option(help: "What --target (and --target-heads, --target-neurons) is a fraction of: parameters (the maskable ones; default), units, or model (all of the model's parameters, taken from the maskable units, as EcoDiff counts sparsity).")
    var targetKind: TargetKind?
    @Option(help: "Fraction of the attention heads to remove (counted as --target-kind says), instead of --target; e.g. 0.32 with --target-kind units keeps 68 % of the heads.")
    var targetHeads: Double?
    @Option(help: "Fraction of the FFN neurons to remove (counted as --target-kind says), instead of --target.")
    var targetNeurons: Double?
    @Option(help: "Rank units globally (per unit kind), per module, or jointly across heads and neurons (for scores comparable across kinds, such as EcoDiff's λ): global, per-module, joint (default: the criterion's: joint for ecodiff, global for the others and for --scores files).") var scope: Scope?
    @Option(help: "The units the criterion scores and the plan removes: a comma-separated list of heads, neurons and blocks (whole transformer blocks), or all. --masks files may name any unit.")
    var units: UnitKindsOption = .standard
    @Option(help: "Export with these binary masks instead of a criterion: a safetensors file of mask.<module key> tensors, one 0 (remove) or 1 (keep) per unit; modules it does not name are kept whole.")
    var masks: String?
    @Option(help: "Plan from these per-unit scores instead of a criterion: a safetensors file of score.<module key> (or mask.<module key>) tensors, higher = keep; modules it does not name are kept whole.")
    var scores: String?
    @Option(help: "Also write the criterion's per-unit scores to this safetensors file (score.<module key>), for a later --scores run.")
    var saveScores: String?
    @Option(help: "Only modules matching this glob (or re:REGEX) are pruned; repeatable.") var include: [String] = []
    @Option(help: "Modules matching this glob (or re:REGEX) are kept whole; repeatable.") var exclude: [String] = []
    @Option(help: "A safetensors file with the calibration prompt embeddings (prompt_embeds [P, …], …).")
    var embeddings: String?
    @Option(help: "A text file of calibration prompts, one per line, encoded by the model's own text encoders (a diffusers pipeline folder, an SDXL single file, or a demo model).")
    var prompts: String?
    @Option(help: "--prompts (and --report-prompts) with a pipeline: the negative prompt of every prompt (SDXL default: zeros, as diffusers).")
    var negativePrompt: String?
    @Option(help: "--prompts (and --report-prompts) with a FLUX pipeline: T5 tokens per prompt (1…512, default 512).") var maxSequenceLength: Int?
    @Option(help: "--prompts (and --report-prompts) with a pipeline: take tokenizer/ and tokenizer_2/ from this pipeline folder (an SDXL single file otherwise uses the bundled CLIP vocabulary).")
    var tokenizer: String?
    @Option(help: "Without --embeddings: this many prompts of random standard-normal conditioning (bench presets).")
    var randomPrompts: Int?
    @Option(
        help: """
            A preset: with --model, its schedule and defaults; without, also its denoiser with weights drawn from             --seed. Known: \(Architectures.presetNames.joined(separator: ", ")).
            """)
    var preset: String?
    @Option(help: "Inference steps of each calibration trajectory (default: the preset's).") var steps: Int?
    @Option(help: "Guidance scale (default: the preset's).") var guidance: Float?
    @Option(help: "Image height in pixels (SDXL default: sample_size × 8; FLUX: 1024).") var height: Int?
    @Option(help: "Image width in pixels (SDXL default: sample_size × 8; FLUX: 1024).") var width: Int?
    @Option(help: "Seed of the calibration noise and of the criterion.") var seed: UInt64 = 0
    @Option(help: "ecodiff: passes over the calibration prompts.") var epochs: Int = 4
    @Option(help: "ecodiff: prompts whose gradients make one optimizer step (default: EcoDiff's 4). Under mpirun at most this many ranks learn at once; more prompts per step means fewer, larger steps, which changes the result.")
    var promptsPerStep: Int?
    @Option(help: "ecodiff: the sparsity penalty's weight β (default: EcoDiff's for the architecture, SDXL 0.5, FLUX 0.01).")
    var penaltyWeight: Float?
    @Option(help: ArgumentHelp(
        "ecodiff: β for one unit kind in place of --penalty-weight, KIND=β (heads, neurons, modulation, blocks); repeatable.",
        valueName: "kind=β"))
    var kindPenaltyWeight: [KindPenaltyWeightOption] = []
    @Option(help: "ecodiff: one learning rate for every unit kind (default: EcoDiff's per-kind rates).")
    var learningRate: Float?
    @Option(help: "Where to write the pruned model directory (must not exist unless --overwrite; default for the demo: \(DemoDefaults.output)).")
    var out: String?
    @Option(help: "Also write a report folder (demo models: images of original vs pruned, adherence, fidelity, latency, loss curve).")
    var report: String?
    @Option(help: "--report: evaluation images per prompt (demo models: of the 72 prompts; pipelines: of the report prompts, each from its own noise).")
    var reportSamples: Int = 1
    @Option(help: "--report with a pipeline: the prompts to show, one per line (default: the first \(PipelineReportDefaults.promptCount) of --prompts).")
    var reportPrompts: String?
    @Option(help: "--report with a pipeline: image height and width in pixels, a multiple of 16 (small by default for a CPU).")
    var reportSize: Int = PipelineReportDefaults.size
    @Option(help: "--report with a pipeline: inference steps per image (default: --steps, else the preset's).") var reportSteps: Int?
    @Option(help: "The export's weight type: auto (the source's: a pruned fp16 model stays fp16), float32, float16 or bfloat16.")
    var dtype: ExportDType = .auto
    @Flag(help: "Replace an existing --out or --report folder (or --checkpoint file) written by PruneKit; nothing else is ever replaced.") var overwrite = false
    @Option(help: "ecodiff: save λ and the optimizer state every N optimizer steps (0: never).") var checkpointEvery: Int = 1
    @Option(help: "ecodiff: the checkpoint file (default: <out>.resume.safetensors).") var checkpoint: String?
    @Flag(help: "ecodiff: continue from the checkpoint file of an interrupted run with the same settings.") var resume = false
    @OptionGroup var plugins: PluginOptions

    func validate() throws {
        for (flag, value) in [("--target", target), ("--target-heads", targetHeads), ("--target-neurons", targetNeurons)] {
            if let value, !(value >= 0 && value <= 1) { throw ValidationError("\(flag) must be a fraction in [0, 1], got \(value)") }
        }
        do { _ = try CriterionRegistry.current.criterion(named: criterionName) } catch {
            throw ValidationError(error.description)
        }
        try validateUnitFiles()
        guard reportSamples >= 1 else { throw ValidationError("--report-samples must be at least 1, got \(reportSamples)") }
        if model == nil, preset == nil {
            do { _ = try EmbeddedDemoModels.directory(.sdxl) } catch { throw ValidationError("\(error)") }
        } else if out == nil {
            throw ValidationError("give --out DIR for the pruned model")
        }
        try validateReport()
        if let preset {
            do { _ = try Architectures.trajectorySettings(preset: preset) } catch { throw ValidationError("\(error)") }
            if model == nil {
                do { _ = try Architectures.registry.preset(named: preset) } catch {
                    throw ValidationError("without --model, --preset must name a model preset: \(error)")
                }
            }
        }
        if let model, !FileManager.default.fileExists(atPath: model) { throw ValidationError("--model \(model) not found") }
        guard [embeddings, prompts, randomPrompts.map(String.init)].compactMap({ $0 }).count <= 1 else {
            throw ValidationError("give at most one of --embeddings, --prompts and --random-prompts")
        }
        for (flag, path) in [("--embeddings", embeddings), ("--prompts", prompts)] {
            if let path, !FileManager.default.fileExists(atPath: path) { throw ValidationError("\(flag) \(path) not found") }
        }
        if let maxSequenceLength, !(1...512).contains(maxSequenceLength) {
            throw ValidationError("--max-sequence-length must be in 1…512, got \(maxSequenceLength)")
        }
        if prompts == nil, reportPrompts == nil, negativePrompt != nil || maxSequenceLength != nil || tokenizer != nil {
            throw ValidationError("--negative-prompt, --max-sequence-length and --tokenizer apply to --prompts and --report-prompts")
        }
        if let randomPrompts, randomPrompts < 1 { throw ValidationError("--random-prompts must be at least 1, got \(randomPrompts)") }
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps)") }
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        if let promptsPerStep, !(1...1_000_000).contains(promptsPerStep) {
            throw ValidationError("--prompts-per-step must be in 1…1000000, got \(promptsPerStep)")
        }
        if let penaltyWeight, !(penaltyWeight >= 0) { throw ValidationError("--penalty-weight must be 0 or more, got \(penaltyWeight)") }
        _ = try KindPenaltyWeightOption.weights(kindPenaltyWeight)
        if let learningRate, !(learningRate > 0) { throw ValidationError("--learning-rate must be positive, got \(learningRate)") }
        for (name, value) in [("--height", height), ("--width", width)] {
            if let value, value < 16 || value % 16 != 0 { throw ValidationError("\(name) must be a positive multiple of 16, got \(value)") }
        }
        guard checkpointEvery >= 0 else { throw ValidationError("--checkpoint-every must be 0 or more, got \(checkpointEvery)") }
        if resume, !FileManager.default.fileExists(atPath: checkpointPath) {
            throw ValidationError("--resume: no checkpoint at \(checkpointPath)")
        }
        try CommandOutputs.validate(outputRequests, inputs: inputPaths)
    }

    /// `--report` needs images: a demo model, or a pipeline (folder or SDXL single file) with prompts to show.
    func validateReport() throws {
        let pipelineOnly = reportPrompts != nil || reportSteps != nil || reportSize != PipelineReportDefaults.size
        if report == nil, pipelineOnly { throw ValidationError("--report-prompts, --report-size and --report-steps apply to --report") }
        guard report != nil else { return }
        guard let model else { throw ValidationError("--report needs a demo model or a pipeline (--model DIR|FILE), not a preset") }
        if DemoModelDirectory.isDemoModel(model) {
            if pipelineOnly { throw ValidationError("--report-prompts, --report-size and --report-steps apply to pipelines; a demo model's report shows its 72 prompts") }
            return
        }
        guard PipelineTextConditioning.canLoad(model) else {
            throw ValidationError(
                "--report generates images with the model's own text encoders and VAE, so it needs a demo model or a pipeline (a diffusers "
                    + "folder with model_index.json, or an SDXL single file); \(model) is a bare denoiser")
        }
        guard reportPrompts != nil || prompts != nil else {
            throw ValidationError("--report with a pipeline needs prompts to show: give --report-prompts FILE (or calibrate with --prompts FILE)")
        }
        guard reportSize >= 16, reportSize % 16 == 0, reportSize <= 4096 else {
            throw ValidationError("--report-size must be a multiple of 16 in 16…4096, got \(reportSize)")
        }
        if let reportSteps, !(1...1000).contains(reportSteps) { throw ValidationError("--report-steps must be in 1…1000, got \(reportSteps)") }
        if let reportPrompts, !FileManager.default.fileExists(atPath: reportPrompts) {
            throw ValidationError("--report-prompts \(reportPrompts) not found")
        }
    }

    /// What this run writes: the export, the report, and EcoDiff's resume checkpoint.
    var outputRequests: [OutputRequest] {
        var requests = [OutputRequest(flag: "--out", path: outputDirectory, kind: .directory)]
        if let reportDirectory { requests.append(OutputRequest(flag: "--report", path: reportDirectory, kind: .directory)) }
        if let saveScores { requests.append(OutputRequest(flag: "--save-scores", path: saveScores, kind: .file(.safetensors))) }
        if writesCheckpoint {
            requests.append(OutputRequest(flag: "--checkpoint", path: checkpointPath, kind: .file(.safetensors), continues: resume))
        }
        return requests
    }

    /// What this run reads; no output may overlap them.
    var inputPaths: [InputPath] {
        CommandOutputs.inputs([
            ("--model", modelDirectory), ("--embeddings", embeddings), ("--prompts", prompts), ("--tokenizer", tokenizer),
            ("--report-prompts", reportPrompts), ("--masks", masks), ("--scores", scores),
        ])
            + CommandOutputs.inputs(plugins: plugins)
    }

    /// Whether the criterion learns masks with resumable checkpoints (``PruningCriterion/trainsMasks``).
    var writesCheckpoint: Bool {
        unitFile == nil && (try? CriterionRegistry.current.criterion(named: criterionName))?.trainsMasks == true
            && (checkpointEvery > 0 || resume)
    }

    /// Claims the outputs; an existing checkpoint without --resume or --overwrite gets its own advice.
    func claimOutputs() throws -> OutputClaim {
        do {
            return try CommandOutputs.claim(outputRequests, inputs: inputPaths, overwrite: replacesOutputs)
        } catch OutputSafetyError.exists(let flag, let path) where flag == "--checkpoint" {
            throw CLIError.badOption(
                "--checkpoint \(path) holds the state of an interrupted run: pass --resume to continue it, or --overwrite to start over")
        }
    }

    /// Whether this is the out-of-the-box run: the embedded demo model, no model or preset given.
    var isDemoDefault: Bool { model == nil && preset == nil }
    /// `--model`, or the embedded SDXL demo model for the out-of-the-box run.
    var modelDirectory: String? { model ?? (isDemoDefault ? try? EmbeddedDemoModels.directory(.sdxl) : nil) }
    var outputDirectory: String { out ?? DemoDefaults.output }
    var reportDirectory: String? { report ?? (isDemoDefault ? DemoDefaults.report : nil) }
    /// The out-of-the-box run replaces its own default folders; anything named explicitly needs --overwrite.
    var replacesOutputs: Bool { overwrite || (isDemoDefault && out == nil && report == nil) }
    var checkpointPath: String { checkpoint ?? EcoDiffCheckpoint.defaultPath(forOutput: outputDirectory) }

    /// How a mask-learning run saves and resumes: the settings below must match for a resume.
    var checkpointing: MaskTrainingCheckpointing {
        MaskTrainingCheckpointing(
            path: checkpointPath, everySteps: checkpointEvery, resume: resume,
            identity: [
                "prunekit.model": modelDirectory.map { URL(fileURLWithPath: $0).standardizedFileURL.path } ?? "none",
                "prunekit.embeddings": (embeddings ?? prompts).map { URL(fileURLWithPath: $0).standardizedFileURL.path }
                    ?? "random \(randomPrompts ?? 0)",
                "prunekit.preset": preset ?? "none", "prunekit.seed": String(seed), "prunekit.steps": steps.map(String.init) ?? "default",
                "prunekit.epochs": String(epochs), "prunekit.learning_rate": learningRate.map { String($0) } ?? "default",
                "prunekit.penalty_weight": penaltyWeight.map { String($0) } ?? "default", "prunekit.units": units.description,
                "prunekit.prompts_per_step": promptsPerStep.map(String.init) ?? "default",
                "prunekit.kind_penalty_weights": kindPenaltyWeight.isEmpty ? "default" : kindPenaltyWeight.map(\.description).sorted().joined(separator: ","),
            ])
    }

    /// `--criterion`, ecodiff by default.
    var criterionName: String { criterion ?? "ecodiff" }
    /// `--target`, 0.2 by default.
    var targetFraction: Double { target ?? 0.2 }

    /// `fraction` counted as `--target-kind` says.
    func planTarget(_ fraction: Double) -> PruningPlan.Target {
        switch targetKind ?? .parameters {
        case .parameters: .parameters(fraction)
        case .units: .units(fraction)
        case .model: .modelParameters(fraction)
        }
    }

    /// `--target` as the plan's target.
    var planTarget: PruningPlan.Target { planTarget(targetFraction) }

    /// The plan the flags describe; without `--scope`, `defaultScope` (a criterion's own).
    func plan(defaultScope: PruningPlan.Scope = .global) -> PruningPlan {
        var byKind: [UnitKind: PruningPlan.Target] = [:]
        if let targetHeads { byKind[.attentionHead] = planTarget(targetHeads) }
        if let targetNeurons { byKind[.feedForwardNeuron] = planTarget(targetNeurons) }
        return PruningPlan(
            target: planTarget, scope: scope?.plan ?? defaultScope, targetsByKind: byKind,
            include: include.map(ModulePattern.init), exclude: exclude.map(ModulePattern.init))
    }

    func run() throws {
        let group = try DataParallelLaunch.group()
        try DataParallelLaunch.run(in: group) { try run(group: group) }
    }

    /// One rank's part of the run: every rank loads the model and learns from its shard of the calibration
    /// prompts; rank 0 alone claims and writes the outputs, snapshots and report.
    func run(group: any ProcessGroup) throws {
        let claim = group.isLeader ? try claimOutputs() : nil
        defer { claim?.release() }
        let criterion = try CriterionRegistry.current.criterion(named: criterionName)
        // A file of scores or masks may come from any criterion: its plan ranks per kind unless --scope says otherwise.
        let plan = plan(defaultScope: unitFile == nil ? criterion.defaultScope : .global)
        for pattern in plan.include + plan.exclude { _ = try pattern.matches("") }  // bad regexes fail before any work
        let calibrates = criterion.requiresCalibration && unitFile == nil
        if group.isDistributed, calibrates, !criterion.supportsDataParallelism {
            throw CLIError.badOption(
                "criterion \(criterion.name) cannot run data-parallel yet (its calibration statistics are not summed over ranks): "
                    + "run it in one process, without mpirun")
        }
        if group.isDistributed { printProgress("data-parallel run: \(group.size) ranks; rank 0 writes the outputs") }

        // A pipeline's text encoders run (and are released) before the denoiser is loaded.
        let encodedPrompts = calibrates ? try pipelinePromptConditionings(group: group) : nil
        let loaded = try loadModel()
        // A masks file may name any unit; criteria and scores files work on the --units kinds.
        let groups = masks != nil ? loaded.unitGroups : try units.groups(of: loaded)
        let parameters = loaded.parameters.parameters
        let pruningStart = Date()
        // --masks / --scores replace the criterion: read and checked against the model before any other work.
        let given = try unitFileSelection(groups: groups, shapes: parameters.mapValues(\.shape), plan: plan)
        let (calibration, shard) = calibrates
            ? try calibrationSamples(for: loaded, encodedPrompts: encodedPrompts, group: group) : ([], nil)
        var lossHistory: [LossPoint] = []

        let name = given?.name ?? criterion.name
        let target = given.map(\.target) ?? recordedTarget
        // The ETA counts from this run's first counted step (a resumed run starts part-way through the total).
        var start = Date()
        var completedBefore: Int?
        // Every criterion gets the model and the same training options; those that learn masks train, snapshot
        // and resume through the shared MaskTrainer, the others ignore them.
        let training = MaskTrainingOptions(
            epochs: epochs, learningRate: learningRate, penaltyWeight: penaltyWeight,
            kindPenaltyWeights: try KindPenaltyWeightOption.weights(kindPenaltyWeight), promptsPerStep: promptsPerStep, checkpointing: writesCheckpoint ? checkpointing : nil,
            onIteration: { iteration in
                lossHistory.append(
                    LossPoint(
                        iteration: iteration.iteration, total: iteration.loss, reconstruction: iteration.reconstruction,
                        penalty: iteration.penalty, kept: iteration.kept))
            })
        var context = ScoringContext(
            groups: groups, parameters: parameters, calibration: calibration, seed: seed, model: loaded, training: training,
            progress: { progress in
                let share = progress.total > 0 ? " \(progress.completed)/\(progress.total)" : ""
                var eta = ""
                if progress.total == 0, completedBefore == nil { start = Date() }
                if progress.total > 0, progress.completed > 0 {
                    let before = completedBefore ?? (progress.completed - 1)
                    completedBefore = before
                    let elapsed = Date().timeIntervalSince(start)
                    eta = String(format: " ETA %.0fs", elapsed / Double(progress.completed - before) * Double(progress.total - progress.completed))
                }
                printProgress("\(name)\(share): \(progress.message)\(eta)")
            })
        context.shard = shard
        if given == nil { printProgress("\(name): scoring \(groups.count) modules") }
        let scores = given == nil ? try criterion.scores(in: context) : nil
        // The other ranks' part ends with the scores, which every rank holds alike.
        guard group.isLeader else { return }
        let result = try given?.result ?? plan.select(scores: scores!, groups: groups, shapes: context.shapes)
        print(result.text)

        let exportType = dtype.resolved(source: modelDirectory)
        printProgress("exporting to \(outputDirectory) (\(exportType.rawValue))")
        let manifest: ExportManifest
        if let modelDirectory, PipelineFolder.isPipelineFolder(modelDirectory) {
            // A pipeline in, a pipeline out: the other components linked, the pruned denoiser in place.
            let pipeline = try PipelineFolder(path: modelDirectory)
            let provenance = PruningProvenance(criterion: name, target: target, seed: seed, sourceDirectory: pipeline.denoiserDirectory)
            manifest = try PrunedPipelineExport.write(source: pipeline, to: outputDirectory, replacing: replacesOutputs) { denoiser in
                try loaded.exportPruned(selection: result.selection, to: denoiser, provenance: provenance, replacing: false, dtype: exportType)
            }
        } else {
            let provenance = PruningProvenance(criterion: name, target: target, seed: seed, sourceDirectory: modelDirectory)
            manifest = try loaded.exportPruned(
                selection: result.selection, to: outputDirectory, provenance: provenance, replacing: replacesOutputs, dtype: exportType)
        }
        if let saveScores, let scores { try writeScores(scores, groups: groups, to: saveScores) }
        print("wrote \(outputDirectory): \(manifest.parameterCount) parameters (from \(manifest.source.parameterCount))")

        if let reportDirectory, let demo = loaded as? DemoPrunableModel {
            let run = PruningReportWriter.Run(
                command: (["prunekit"] + CommandLine.arguments.dropFirst()).joined(separator: " "),
                modelName: modelDirectory ?? "", criterion: name, target: target ?? result.removedShare, seed: seed,
                calibrationPrompts: shard?.promptCount ?? 0,
                sampling: try demoSampling(for: demo), pruningSeconds: Date().timeIntervalSince(pruningStart), modules: result.rows,
                loss: lossHistory, samplesPerPrompt: reportSamples)
            let pruned = try DemoModelDirectory.load(outputDirectory)
            let written = try PruningReportWriter.write(
                original: demo.demo, pruned: pruned, run: run, to: reportDirectory, replacing: replacesOutputs, progress: printProgress)
            print(
                String(
                    format: "adherence %.1f %% → %.1f %% (strict, all four); PSNR %.2f dB, SSIM %.4f to the original; %.1f → %.1f ms per image",
                    written.original.adherence.strict.all * 100, written.pruned.adherence.strict.all * 100, written.fidelity.psnr,
                    written.fidelity.ssim, written.original.millisecondsPerImage, written.pruned.millisecondsPerImage))
            print("report: \(URL(fileURLWithPath: reportDirectory).appendingPathComponent("report.md").path)")
        } else if let reportDirectory, let modelDirectory {
            let report = try pipelineReport(source: modelDirectory).write(
                original: loaded,
                pruning: .init(
                    command: (["prunekit"] + CommandLine.arguments.dropFirst()).joined(separator: " "), criterion: name,
                    target: target ?? result.removedShare, seed: seed, calibrationPrompts: shard?.promptCount ?? 0, pruningSeconds: Date().timeIntervalSince(pruningStart),
                    modules: result.rows, loss: lossHistory, originalParameters: manifest.source.parameterCount,
                    prunedParameters: manifest.parameterCount, architecture: manifest.architecture),
                to: reportDirectory, replacing: replacesOutputs)
            print(
                String(
                    format: "mean PSNR %@, mean SSIM %.4f to the original over %d images; %.2f → %.2f s per image",
                    report.meanPSNR.map { String(format: "%.2f dB", $0) } ?? "identical", report.meanSSIM, report.images.count,
                    report.original.secondsPerImage, report.pruned.secondsPerImage))
            print("report: \(URL(fileURLWithPath: reportDirectory).appendingPathComponent("report.md").path)")
        }
    }

    /// The report of a pipeline's pruning: `--report-prompts` (or the first prompts of `--prompts`) at `--report-size`.
    func pipelineReport(source: String) throws -> PipelineReport {
        let shown = try reportPrompts.map(promptLines) ?? Array(try promptLines(prompts!).prefix(PipelineReportDefaults.promptCount))
        let settings = try trajectorySettings()  // the calibration's schedule, steps and guidance
        return PipelineReport(
            source: source, prunedModel: outputDirectory, prompts: shown, imagesPerPrompt: reportSamples, height: reportSize, width: reportSize,
            steps: reportSteps ?? settings.steps, guidance: settings.guidanceScale, preset: settings.scheduler?.rawValue,
            prompting: .init(negativePrompt: negativePrompt, maxSequenceLength: maxSequenceLength, tokenizer: tokenizer))
    }

    /// The steps and guidance the demo model is calibrated (and the report sampled) with.
    func demoSampling(for demo: DemoPrunableModel) throws -> DemoSamplingSettings {
        demo.sampling(overriding: try trajectorySettings())
    }

    /// `--model`'s directory (the embedded demo model when neither --model nor --preset is given), or
    /// `--preset`'s denoiser with weights drawn from `--seed`.
    func loadModel() throws -> any PrunableModel {
        if let modelDirectory {
            if isDemoDefault { printProgress("pruning the embedded demo model \(modelDirectory)") }
            return try Architectures.loadModel(directory: modelDirectory)
        }
        printProgress("building preset \(preset!) with random weights (seed \(seed))")
        return try Architectures.registry.makeModel(preset: preset!, seed: seed)
    }

    /// The trajectory settings the flags describe, over `--preset`'s defaults (with `--model`, the preset
    /// gives the schedule, steps and guidance; the image size stays the model's own unless given).
    func trajectorySettings() throws -> TrajectorySettings {
        let base = try preset.map(Architectures.trajectorySettings(preset:)) ?? TrajectorySettings()
        let ownSize = modelDirectory == nil
        return TrajectorySettings(
            scheduler: base.scheduler, steps: steps ?? base.steps, guidanceScale: guidance ?? base.guidanceScale,
            height: height ?? (ownSize ? base.height : nil), width: width ?? (ownSize ? base.width : nil))
    }

    /// `--prompts` encoded by the text encoders of `--model` when it is a pipeline folder or an SDXL single file
    /// (not a demo model, which encodes its own); nil otherwise.
    /// In a data-parallel run only this rank's prompts (``CalibrationShard/ownedPrompts``) are encoded.
    func pipelinePromptConditionings(group: any ProcessGroup = SingleProcessGroup.shared) throws -> ShardedConditionings? {
        guard let path = prompts, let modelPath = modelDirectory, !DemoModelDirectory.isDemoModel(modelPath),
            PipelineTextConditioning.canLoad(modelPath)
        else { return nil }
        let lines = try promptLines(path)
        let shard = CalibrationShard(group: group, promptCount: lines.count)
        let owned = try PipelinePrompts.encode(
            shard.ownedPrompts.map { lines[$0] }, model: modelPath,
            options: .init(negativePrompt: negativePrompt, maxSequenceLength: maxSequenceLength, tokenizer: tokenizer))
        return ShardedConditionings(owned: owned, promptCount: lines.count)
    }

    /// The prompts of the `--prompts` file.
    func promptLines(_ path: String) throws -> [String] {
        let lines = PromptFile.prompts(in: try String(contentsOfFile: path, encoding: .utf8))
        guard !lines.isEmpty else { throw CLIError.invalidFile(path: path, reason: "holds no prompts (one per line)") }
        return lines
    }

    /// One calibration sample per prompt of `--embeddings`, `--prompts` (`encodedPrompts` when a pipeline encoded
    /// them already) or `--random-prompts`, targets included.
    ///
    /// In a data-parallel run each rank builds the samples of its own prompts only (``CalibrationShard``); a
    /// pipeline's prompts arrive encoded for this rank alone.
    /// - Returns: this rank's samples and the shard they belong to.
    func calibrationSamples(
        for model: any PrunableModel, encodedPrompts: ShardedConditionings? = nil, group: any ProcessGroup = SingleProcessGroup.shared
    ) throws -> ([CalibrationSample<AnyDenoisingTrajectory>], CalibrationShard) {
        let owned: [PromptConditioning]
        let shard: CalibrationShard
        if let encodedPrompts {
            shard = CalibrationShard(group: group, promptCount: encodedPrompts.promptCount)
            owned = encodedPrompts.owned
        } else {
            let conditionings = try allConditionings(for: model)
            shard = CalibrationShard(group: group, promptCount: conditionings.count)
            owned = shard.ownedPrompts.map { conditionings[$0] }
        }
        guard shard.promptCount >= group.size else {
            throw CLIError.badOption(
                "\(group.size) ranks but \(shard.promptCount) calibration prompts: every rank needs at least one prompt (use fewer ranks)")
        }
        let samples = try model.calibrationSamples(
            prompts: owned, promptIndices: shard.ownedPrompts, settings: try trajectorySettings(), seed: seed
        ) { index in
            printProgress("calibration prompt \(index + 1)/\(owned.count)")
        }
        return (samples, shard)
    }

    /// Every calibration prompt's conditioning from `--embeddings`, `--prompts` (a demo model encodes its own),
    /// the demo's prompts or `--random-prompts`.
    func allConditionings(for model: any PrunableModel) throws -> [PromptConditioning] {
        let conditionings: [PromptConditioning]
        if let embeddings {
            conditionings = try PruneCalibration.Embeddings(path: embeddings).conditionings(for: model)
        } else if let path = self.prompts {
            if let encoder = model as? any PromptEncoding {
                conditionings = try encoder.encode(prompts: try promptLines(path))
            } else {
                throw CLIError.badOption(
                    "--prompts needs text encoders: give --model a diffusers pipeline folder (model_index.json with text_encoder/ and "
                        + "tokenizer/) or an SDXL single file; \(modelDirectory ?? "the preset") is a bare \(model.architectureName) denoiser. "
                        + "Or give --embeddings with prompt_embeds (and pooled_prompt_embeds) from `prunekit encode-prompt`")
            }
        } else if randomPrompts == nil, let demo = model as? DemoPrunableModel {
            let prompts = ShapePrompt.all.map(\.text)
            printProgress("calibrating on the demo's \(prompts.count) prompts (no --prompts)")
            conditionings = try demo.encode(prompts: prompts)
        } else if let randomPrompts {
            printProgress("calibrating on \(randomPrompts) prompts of random conditioning (no --embeddings)")
            conditionings = model.randomConditioning(count: randomPrompts, seed: seed)
        } else {
            throw CLIError.badOption(
                "criterion \(criterionName) needs calibration prompts: give --embeddings FILE, --prompts FILE (models with a text encoder) or --random-prompts N (bench models)")
        }
        return conditionings
    }
}

/// Encoded calibration prompts of one rank: its own (in ``CalibrationShard/ownedPrompts`` order) of `promptCount`.
struct ShardedConditionings {
    var owned: [PromptConditioning]
    var promptCount: Int
}

/// The weight type of an export.
enum ExportDType: String, CaseIterable, ExpressibleByArgument {
    case auto, float32, float16, bfloat16

    /// `auto` is the dominant stored type of the source's weights (float32 when unknown, e.g. a preset).
    func resolved(source: String?) -> DType {
        switch self {
        case .float32: return .float32
        case .float16: return .float16
        case .bfloat16: return .bfloat16
        case .auto:
            guard let source else { return .float32 }
            let prefix = SDXLSingleFile.isSingleFile(source) ? SDXLSingleFile.unetKeyPrefix : ""
            return SourceDType.of(source, keyPrefix: prefix) ?? .float32
        }
    }
}

/// What a pipeline's `prune --report` shows unless told otherwise.
enum PipelineReportDefaults {
    /// Prompts taken from `--prompts` without `--report-prompts`.
    static let promptCount = 4
    /// Image side in pixels: small, for a CPU.
    static let size = 256
}

/// Where the out-of-the-box `prunekit prune` writes.
enum DemoDefaults {
    static let output = "prunekit-demo/pruned-demo-sdxl"
    static let report = "prunekit-demo/report"
}
