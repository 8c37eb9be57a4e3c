import Foundation

/// One criterion at one target on one demo model, measured against the original from the same noise.
public struct CriteriaComparisonRow: Codable, Sendable, Equatable {
    public var model: String
    public var criterion: String
    /// The unit kinds pruned (`heads,neurons`, `blocks`, `heads,neurons,blocks`).
    public var units: String
    /// What ``target`` is a fraction of: `parameters` (the prunable ones), `units` or `model` (all parameters).
    public var targetKind: String
    /// Fraction the plan removes, counted as ``targetKind`` says.
    public var target: Double
    public var figures: DemoModelFigures
    public var fidelity: DemoFidelity
    /// Wall time of scoring (mask learning for EcoDiff), shared by the criterion's three targets.
    public var scoringSeconds: Double
    /// The original's single-image latency, timed alternately with this row's pruned model (ms).
    public var originalMillisecondsPerImage: Double

    public init(
        model: String, criterion: String, units: String = "heads,neurons", targetKind: String = "parameters", target: Double,
        figures: DemoModelFigures, fidelity: DemoFidelity, scoringSeconds: Double, originalMillisecondsPerImage: Double
    ) {
        self.model = model
        self.criterion = criterion
        self.units = units
        self.targetKind = targetKind
        self.target = target
        self.figures = figures
        self.fidelity = fidelity
        self.scoringSeconds = scoringSeconds
        self.originalMillisecondsPerImage = originalMillisecondsPerImage
    }

    /// Decodes a row; files written before `units` and `target_kind` existed pruned heads and neurons by parameters.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        model = try container.decode(String.self, forKey: .model)
        criterion = try container.decode(String.self, forKey: .criterion)
        units = try container.decodeIfPresent(String.self, forKey: .units) ?? "heads,neurons"
        targetKind = try container.decodeIfPresent(String.self, forKey: .targetKind) ?? "parameters"
        target = try container.decode(Double.self, forKey: .target)
        figures = try container.decode(DemoModelFigures.self, forKey: .figures)
        fidelity = try container.decode(DemoFidelity.self, forKey: .fidelity)
        scoringSeconds = try container.decode(Double.self, forKey: .scoringSeconds)
        originalMillisecondsPerImage = try container.decode(Double.self, forKey: .originalMillisecondsPerImage)
    }

    /// Original / pruned single-image latency, both timed in the same window.
    public var speedup: Double { originalMillisecondsPerImage / figures.millisecondsPerImage }

    enum CodingKeys: String, CodingKey {
        case model, criterion, units, target, figures, fidelity, scoringSeconds = "scoring_seconds"
        case targetKind = "target_kind"
        case originalMillisecondsPerImage = "original_milliseconds_per_image"
    }
}

/// A demo model's unpruned figures and how its criteria were calibrated.
public struct CriteriaComparisonModel: Codable, Sendable, Equatable {
    public var name: String
    public var architecture: String
    public var original: DemoModelFigures
    public var calibrationPrompts: Int
    public var sampling: DemoSamplingSettings

    public init(name: String, architecture: String, original: DemoModelFigures, calibrationPrompts: Int, sampling: DemoSamplingSettings) {
        self.name = name
        self.architecture = architecture
        self.original = original
        self.calibrationPrompts = calibrationPrompts
        self.sampling = sampling
    }

    enum CodingKeys: String, CodingKey { case name, architecture, original, calibrationPrompts = "calibration_prompts", sampling }
}

/// What `prunekit demo-compare` writes: every criterion at every target on every demo model, and whether
/// EcoDiff met its targets (adherence within 2 points of the original at 20 %, better than magnitude and
/// random on PSNR, SSIM and latent MSE).
public struct CriteriaComparison: Codable, Sendable {
    public var command: String
    public var date: String
    public var machine: String
    public var samplesPerPrompt: Int
    public var evaluationSeed: UInt64
    public var models: [CriteriaComparisonModel]
    public var rows: [CriteriaComparisonRow]
    /// Wall time of the whole comparison.
    public var seconds: Double

    public init(
        command: String, date: String, machine: String, samplesPerPrompt: Int, evaluationSeed: UInt64, models: [CriteriaComparisonModel],
        rows: [CriteriaComparisonRow], seconds: Double
    ) {
        self.command = command
        self.date = date
        self.machine = machine
        self.samplesPerPrompt = samplesPerPrompt
        self.evaluationSeed = evaluationSeed
        self.models = models
        self.rows = rows
        self.seconds = seconds
    }

    enum CodingKeys: String, CodingKey {
        case command, date, machine, samplesPerPrompt = "samples_per_prompt", evaluationSeed = "evaluation_seed", models, rows, seconds
    }

    /// The EcoDiff target at `target` on `model`: adherence (strict, all four) within 2 points of the original,
    /// and better than magnitude and random on PSNR, SSIM and latent MSE. `nil` when a row is missing.
    public func ecoDiffTarget(model: String, target: Double = 0.2) -> (adherenceKept: Bool, beatsOnFidelity: [String: Bool])? {
        func row(_ criterion: String) -> CriteriaComparisonRow? {
            rows.first { $0.model == model && $0.criterion == criterion && $0.units == "heads,neurons" && abs($0.target - target) < 1e-9 }
        }
        guard let original = models.first(where: { $0.name == model })?.original, let ecodiff = row("ecodiff") else { return nil }
        var beats: [String: Bool] = [:]
        for other in ["magnitude", "random"] {
            guard let baseline = row(other) else { continue }
            beats[other] = ecodiff.fidelity.psnr > baseline.fidelity.psnr && ecodiff.fidelity.ssim > baseline.fidelity.ssim
                && ecodiff.fidelity.latentMSE < baseline.fidelity.latentMSE
        }
        let kept = ecodiff.figures.adherence.strict.all >= original.adherence.strict.all - 0.02
        return (kept, beats)
    }

    /// The Markdown table: per model, the original and one line per criterion and target.
    public var markdown: String {
        func percent(_ value: Double) -> String { String(format: "%.1f", value * 100) }
        var lines = [
            "# Pruning criteria on the embedded demo models", "",
            "Generated by `\(command)` on \(date) (\(machine)); \(String(format: "%.0f", seconds / 60)) minutes in all.", "",
            "Every criterion scores the model once per set of unit kinds (calibrated on the demo's prompts where it needs data), then "
                + "`PruningPlan` removes each target (global per unit kind; \"of params\" = of the prunable parameters, \"of model\" = of all "
                + "the model's parameters, \"of units\" = of the units), the model is exported with the units physically removed, reloaded, and sampled for the 72 prompts × \(samplesPerPrompt) from the same noise (seed \(evaluationSeed)) as the "
                + "original. Adherence: the analytic checker, strict, all four attributes right (colour / shape / count / position in "
                + "brackets). PSNR, SSIM: pruned images against the original's; latent MSE: final latents. Latency: one image alone "
                + "(batch 1, every step), median of 7, timed alternately with the original in the same window; speed-up = original / pruned.", "",
        ]
        for model in models {
            let o = model.original
            // The original's latency as timed next to each pruned row (the same windows as the speed-ups).
            let paired = rows.filter { $0.model == model.name }.map(\.originalMillisecondsPerImage).sorted()
            let originalMilliseconds = paired.isEmpty ? o.millisecondsPerImage : paired[paired.count / 2]
            lines += [
                "## \(model.name) (\(model.architecture))", "",
                "\(o.parameters.formatted()) denoiser parameters, \(o.heads) heads, \(o.neurons) FFN neurons; \(model.sampling.steps) steps, guidance "
                    + "\(model.sampling.guidanceScale); calibration: \(model.calibrationPrompts) prompts.", "",
                "| criterion (units) | removed | parameters | GFLOPs / image | ms / image (speed-up) | adherence (strict) | lenient | PSNR dB | SSIM | latent MSE | scoring s |",
                "|---|---|---|---|---|---|---|---|---|---|---|",
                "| original | 0 % | \(o.parameters.formatted()) | \(String(format: "%.3f", o.gigaflopsPerImage)) | \(String(format: "%.1f", originalMilliseconds)) | "
                    + "\(percent(o.adherence.strict.all)) (\(attributes(o.adherence.strict))) | \(percent(o.adherence.lenient.all)) | – | – | – | – |",
            ]
            for row in rows where row.model == model.name {
                let f = row.figures
                let removed = 1 - Double(f.parameters) / Double(o.parameters)
                lines.append(
                    "| \(row.criterion)\(row.units == "heads,neurons" ? "" : " (\(row.units))") | \(Int((row.target * 100).rounded())) % of \(row.targetKind == "parameters" ? "params" : row.targetKind) (\(percent(removed)) % of all) | \(f.parameters.formatted()) | "
                        + "\(String(format: "%.3f", f.gigaflopsPerImage)) | \(String(format: "%.1f (%.2f×)", f.millisecondsPerImage, row.speedup)) | "
                        + "\(percent(f.adherence.strict.all)) (\(attributes(f.adherence.strict))) | \(percent(f.adherence.lenient.all)) | "
                        + String(format: "%.2f | %.4f | %.4g | %.0f |", row.fidelity.psnr, row.fidelity.ssim, row.fidelity.latentMSE, row.scoringSeconds))
            }
            lines.append("")
            if let verdict = ecoDiffTarget(model: model.name) {
                let against = verdict.beatsOnFidelity.sorted { $0.key < $1.key }
                    .map { "\($0.key): \($0.value ? "beats it on PSNR, SSIM and latent MSE" : "does NOT beat it on every fidelity metric")" }
                lines += [
                    "EcoDiff at 20 %: adherence \(verdict.adherenceKept ? "within" : "NOT within") 2 points of the original; "
                        + against.joined(separator: "; ") + ".", "",
                ]
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func attributes(_ scores: AdherenceScores) -> String {
        [scores.colour, scores.shape, scores.count, scores.position].map { String(Int(($0 * 100).rounded())) }.joined(separator: " / ")
    }
}
