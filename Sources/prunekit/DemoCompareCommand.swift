import ArgumentParser
import Foundation
import PruneDemo
import PruneKit
import PruneNN
import PruneTensor

/// `prunekit demo-compare`: every criterion at several targets on the embedded demo models, measured.
struct DemoCompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-compare",
        abstract: "Compare pruning criteria on the demo models: adherence, PSNR/SSIM to the original, parameters, FLOPs, latency.",
        discussion: """
            For each model (default: both embedded demo models), criterion (default: every registered one, plugins \
            included) and seed (--seeds), scores once — calibrated on the demo's 72 prompts — then for each --targets fraction plans, \
            exports with the units removed, reloads, and samples the 72 prompts from the evaluation noise. Writes \
            <out>/criteria-comparison.json and .md. Reproducible from the seeds; progress goes to stderr.
            """)

    @Option(name: .customLong("model"), help: "A demo model directory (repeatable; default: Models/demo-sdxl and Models/demo-flux).")
    var models: [String] = []
    @Option(name: .customLong("criterion"), help: "A criterion (repeatable; default: every registered criterion).")
    var criteria: [String] = []
    @Option(help: "Comma-separated fractions to remove, counted as --target-kind says.") var targets: String = "0.1,0.2,0.3"
    @Option(help: "What --targets are fractions of: parameters (the prunable ones; default), units, or model (all of the model's parameters).")
    var targetKind: PruneCommand.TargetKind = .parameters
    @Option(help: "The unit kinds to prune, as prune --units (heads,neurons; blocks; all); repeatable: each set is scored and measured on its own.")
    var units: [UnitKindsOption] = [.standard]
    @Option(help: "Evaluation images per prompt (72 prompts).") var samplesPerPrompt: Int = 1
    @Option(help: "Calibration prompts per model (the first N of the 72, spread over the grammar).") var calibrationPrompts: Int = 72
    @Option(help: "ecodiff: passes over the calibration prompts.") var epochs: Int = 4
    @Option(help: "Seed of calibration noise and of the criteria (the first, with --seeds).") var seed: UInt64 = 0
    @Option(help: "Run each criterion with this many seeds (--seed, --seed + 1, …) and report mean ± standard deviation.")
    var seeds: Int = 1
    @Option(help: "The folder for criteria-comparison.json and .md.") var out: String = "docs/demo-comparison"
    @Flag(help: "Replace criteria-comparison.json and .md in --out if PruneKit wrote them (nothing else is ever replaced).")
    var overwrite = false
    @OptionGroup var plugins: PluginOptions

    var targetValues: [Double] { targets.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) } }

    func validate() throws {
        guard !out.isEmpty else { throw ValidationError("--out is empty: give the folder for criteria-comparison.json and .md") }
        try CommandOutputs.validate(outputRequests, inputs: inputPaths)
        let values = targetValues
        guard !values.isEmpty, values.count == targets.split(separator: ",").count, values.allSatisfy({ $0 > 0 && $0 < 1 }) else {
            throw ValidationError("--targets must be comma-separated fractions in (0, 1), got \(targets)")
        }
        guard samplesPerPrompt >= 1, (1...72).contains(calibrationPrompts), epochs >= 1, (1...20).contains(seeds) else {
            throw ValidationError("--samples-per-prompt and --epochs must be at least 1, --calibration-prompts in 1…72 and --seeds in 1…20")
        }
        for name in criteria {
            do { _ = try CriterionRegistry.current.criterion(named: name) } catch { throw ValidationError(error.description) }
        }
        for model in models where !DemoModelDirectory.isDemoModel(model) {
            throw ValidationError("--model \(model) is not a demo model directory (no \(DemoModelDirectory.textEncoderConfiguration))")
        }
    }

    var jsonPath: String { URL(fileURLWithPath: out).appendingPathComponent("criteria-comparison.json").path }
    var markdownPath: String { URL(fileURLWithPath: out).appendingPathComponent("criteria-comparison.md").path }
    var outputRequests: [OutputRequest] {
        [
            OutputRequest(flag: "--out", path: jsonPath, kind: .file(.json)),
            OutputRequest(flag: "--out", path: markdownPath, kind: .file(.markdown)),
        ]
    }
    var inputPaths: [InputPath] { models.map { InputPath(flag: "--model", path: $0) } + CommandOutputs.inputs(plugins: plugins) }

    func run() throws {
        let claim = try CommandOutputs.claim(outputRequests, inputs: inputPaths, overwrite: overwrite)
        defer { claim.release() }
        let started = Date()
        let directories = try models.isEmpty ? [EmbeddedDemoModels.directory(.sdxl), EmbeddedDemoModels.directory(.flux)] : models
        let names = criteria.isEmpty ? CriterionRegistry.current.all.map(\.name) : criteria
        let evaluationSeed: UInt64 = 1_000_003
        var modelEntries: [CriteriaComparisonModel] = []
        var rows: [CriteriaComparisonRow] = []
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-demo-compare-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }

        for directory in directories {
            let model = try DemoPrunableModel(directory: directory)
            let name = URL(fileURLWithPath: directory).lastPathComponent
            let sampling = model.defaultSampling
            printProgress("\(name): measuring the original")
            let (original, reference) = try DemoMeasurement.measure(
                model.demo, sampling: sampling, samplesPerPrompt: samplesPerPrompt, seed: evaluationSeed)
            printProgress("\(name): original \(original.adherence.summary)")
            let prompts = Array(ShapePrompt.all.map(\.text).prefix(calibrationPrompts))
            var calibrations: [UInt64: [CalibrationSample<AnyDenoisingTrajectory>]] = [:]
            modelEntries.append(
                CriteriaComparisonModel(
                    name: name, architecture: model.architectureName, original: original, calibrationPrompts: prompts.count, sampling: sampling))

            for unitKinds in units {
                let groups = try unitKinds.groups(of: model)
                for criterionName in names {
                    let criterion = try CriterionRegistry.current.criterion(named: criterionName)
                    // A selection an earlier seed made too (a deterministic criterion) is measured once.
                    var measuredSelections: [[String: [Int]]: CriteriaComparisonRow] = [:]
                    for runSeed in seed..<(seed + UInt64(seeds)) {
                        var calibration: [CalibrationSample<AnyDenoisingTrajectory>] = []
                        if criterion.requiresCalibration {
                            if calibrations[runSeed] == nil {
                                printProgress("\(name): calibration trajectories for \(prompts.count) prompts (seed \(runSeed))")
                                calibrations[runSeed] = try model.calibrationSamples(
                                    prompts: try model.encode(prompts: prompts), settings: TrajectorySettings(), seed: runSeed)
                            }
                            calibration = calibrations[runSeed]!
                        }
                        let scoringStart = Date()
                        let context = ScoringContext(
                            groups: groups, parameters: model.parameters.parameters, calibration: calibration, seed: runSeed, model: model,
                            training: MaskTrainingOptions(epochs: epochs),
                            progress: { progress in
                                let share = progress.total > 0 ? " \(progress.completed)/\(progress.total)" : ""
                                printProgress("\(name) \(criterionName) [\(unitKinds)] seed \(runSeed)\(share): \(progress.message)")
                            })
                        printProgress("\(name) \(criterionName) [\(unitKinds)] seed \(runSeed): scoring")
                        let scores = try criterion.scores(in: context)
                        let scoringSeconds = Date().timeIntervalSince(scoringStart)
                        for target in targetValues {
                            let plan = PruningPlan(target: planTarget(target), scope: criterion.defaultScope)
                            let result = try plan.select(scores: scores, groups: groups, shapes: context.shapes)
                            var identity = [String: [Int]](uniqueKeysWithValues: groups.map { ($0.moduleKey, result.selection.keptUnits(of: $0)) })
                            identity["target"] = [Int((target * 1e6).rounded())]
                            if var shared = measuredSelections[identity] {
                                shared.seed = runSeed
                                shared.scoringSeconds = scoringSeconds
                                rows.append(shared)
                                printProgress("\(name) \(criterionName) [\(unitKinds)] seed \(runSeed) \(Int((target * 100).rounded())) %: an earlier seed's selection, not measured again")
                                continue
                            }
                            let exported = scratch + "/\(name)-\(criterionName)-\(unitKinds.kinds.count)-\(runSeed)-\(Int((target * 100).rounded()))"
                            try model.exportPruned(
                                selection: result.selection, to: exported,
                                provenance: PruningProvenance(criterion: criterionName, target: target, seed: runSeed, sourceDirectory: directory),
                                replacing: true, dtype: .float32)
                            let pruned = try DemoModelDirectory.load(exported)
                            let measured = try DemoMeasurement.measure(
                                pruned, sampling: sampling, samplesPerPrompt: samplesPerPrompt, seed: evaluationSeed, latencyRuns: 1)
                            var figures = measured.figures
                            let times = try DemoMeasurement.latencies([model.demo, pruned], sampling: sampling, seed: evaluationSeed)
                            figures.millisecondsPerImage = times[1]
                            let fidelity = DemoFidelity(measured.evaluation, reference: reference)
                            let row = CriteriaComparisonRow(
                                model: name, criterion: criterionName, units: unitKinds.description, targetKind: targetKind.rawValue,
                                target: target, seed: runSeed, figures: figures, fidelity: fidelity,
                                scoringSeconds: scoringSeconds, originalMillisecondsPerImage: times[0])
                            rows.append(row)
                            measuredSelections[identity] = row
                            printProgress(
                                String(
                                    format: "%@ %@ [%@] seed %llu, %.0f %% of %@: adherence %.1f %% (original %.1f %%), PSNR %.2f dB, SSIM %.4f, %.1f ms/image (original %.1f)",
                                    name, criterionName, unitKinds.description, runSeed, target * 100, targetKind.rawValue,
                                    figures.adherence.strict.all * 100, original.adherence.strict.all * 100, fidelity.psnr, fidelity.ssim, times[1], times[0]))
                            try? FileManager.default.removeItem(atPath: exported)
                        }
                    }
                }
            }
        }
        let comparison = CriteriaComparison(
            command: (["prunekit"] + CommandLine.arguments.dropFirst()).joined(separator: " "),
            date: ISO8601DateFormatter().string(from: Date()), machine: Self.machine(), samplesPerPrompt: samplesPerPrompt,
            evaluationSeed: evaluationSeed, models: modelEntries, rows: rows, seconds: Date().timeIntervalSince(started))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFileWriter.write(OutputMarker.marking(json: try encoder.encode(comparison), kind: "criteria-comparison"), to: jsonPath)
        try AtomicFileWriter.write(
            Data(OutputMarker.marking(markdown: comparison.markdown, kind: "criteria-comparison").utf8), to: markdownPath)
        print(comparison.markdown)
        print("wrote \(markdownPath)")
    }

    /// `fraction` counted as `--target-kind` says.
    func planTarget(_ fraction: Double) -> PruningPlan.Target {
        switch targetKind {
        case .parameters: .parameters(fraction)
        case .units: .units(fraction)
        case .model: .modelParameters(fraction)
        }
    }

    /// CPU model, logical CPUs and compute threads, for the document's header.
    static func machine() -> String {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        return "\(cpu), \(ProcessInfo.processInfo.activeProcessorCount) logical CPUs, \(ComputeThreads.count) compute threads"
    }
}
