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
    /// The seed of the calibration noise and of the criterion for this row.
    public var seed: UInt64
    public var figures: DemoModelFigures
    public var fidelity: DemoFidelity
    /// Wall time of scoring (mask learning for EcoDiff), shared by the criterion's three targets.
    public var scoringSeconds: Double
    /// The original's single-image latency, timed alternately with this row's pruned model (ms).
    public var originalMillisecondsPerImage: Double

    public init(
        model: String, criterion: String, units: String = "heads,neurons", targetKind: String = "parameters", target: Double,
        seed: UInt64 = 0, figures: DemoModelFigures, fidelity: DemoFidelity, scoringSeconds: Double, originalMillisecondsPerImage: Double
    ) {
        self.model = model
        self.criterion = criterion
        self.units = units
        self.targetKind = targetKind
        self.target = target
        self.seed = seed
        self.figures = figures
        self.fidelity = fidelity
        self.scoringSeconds = scoringSeconds
        self.originalMillisecondsPerImage = originalMillisecondsPerImage
    }

    /// Decodes a row; files written before `units`, `target_kind` and `seed` existed pruned heads and neurons by
    /// parameters with seed 0.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        model = try container.decode(String.self, forKey: .model)
        criterion = try container.decode(String.self, forKey: .criterion)
        units = try container.decodeIfPresent(String.self, forKey: .units) ?? "heads,neurons"
        targetKind = try container.decodeIfPresent(String.self, forKey: .targetKind) ?? "parameters"
        target = try container.decode(Double.self, forKey: .target)
        seed = try container.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0
        figures = try container.decode(DemoModelFigures.self, forKey: .figures)
        fidelity = try container.decode(DemoFidelity.self, forKey: .fidelity)
        scoringSeconds = try container.decode(Double.self, forKey: .scoringSeconds)
        originalMillisecondsPerImage = try container.decode(Double.self, forKey: .originalMillisecondsPerImage)
    }

    /// Original / pruned single-image latency, both timed in the same window.
    public var speedup: Double { originalMillisecondsPerImage / figures.millisecondsPerImage }

    enum CodingKeys: String, CodingKey {
        case model, criterion, units, target, seed, figures, fidelity, scoringSeconds = "scoring_seconds"
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

/// What `prunekit demo-compare` writes: every criterion at every target on every demo model (one row per seed),
/// and how EcoDiff compares at 10 and 20 % (``ecoDiffVerdict(model:target:)``).
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

    /// The rows grouped by model, criterion, unit kinds and target (one row per seed), in the order they were
    /// measured.
    public var summaries: [CriteriaComparisonSummary] {
        var order: [CriteriaComparisonSummary.Key] = []
        var grouped: [CriteriaComparisonSummary.Key: [CriteriaComparisonRow]] = [:]
        for row in rows {
            let key = CriteriaComparisonSummary.Key(row)
            if grouped[key] == nil { order.append(key) }
            grouped[key, default: []].append(row)
        }
        return order.map { CriteriaComparisonSummary(rows: grouped[$0]!) }
    }

    /// How EcoDiff's heads-and-neurons rows at `target` on `model` compare with every other criterion's, on the
    /// means over seeds: whether its strict adherence is the best (ties count as best) and within 2 points of the
    /// original, and whether its PSNR to the original is the best. `nil` when there is no such EcoDiff row.
    public func ecoDiffVerdict(model: String, target: Double) -> EcoDiffVerdict? {
        let candidates = summaries.filter {
            $0.model == model && $0.units == "heads,neurons" && abs($0.target - target) < 1e-9
        }
        guard let original = models.first(where: { $0.name == model })?.original,
            let ecodiff = candidates.first(where: { $0.criterion == "ecodiff" })
        else { return nil }
        let others = candidates.filter { $0.criterion != "ecodiff" }
        let adherence = ecodiff.mean(\.figures.adherence.strict.all)
        let psnr = ecodiff.mean(\.fidelity.psnr)
        return EcoDiffVerdict(
            target: target, adherenceWithinTwoPoints: adherence >= original.adherence.strict.all - 0.02,
            bestAdherence: others.allSatisfy { $0.mean(\.figures.adherence.strict.all) <= adherence + 1e-12 },
            bestPSNR: others.allSatisfy { $0.mean(\.fidelity.psnr) <= psnr },
            beatenOnAdherenceBy: others.filter { $0.mean(\.figures.adherence.strict.all) > adherence + 1e-12 }.map(\.criterion),
            beatenOnPSNRBy: others.filter { $0.mean(\.fidelity.psnr) > psnr }.map(\.criterion))
    }

    /// The Markdown table: per model, the original and one line per criterion, unit kinds and target; with several
    /// seeds, each figure is the mean ± the sample standard deviation over the seeds.
    public var markdown: String {
        func percent(_ value: Double) -> String { String(format: "%.1f", value * 100) }
        let seedCounts = Set(summaries.map(\.rows.count))
        let seedNote = seedCounts.max().map { $0 > 1 ? " Each criterion ran with \($0) seeds (calibration noise and the criterion's own); a figure is the mean ± the sample standard deviation over them, and a selection two seeds share is measured once." : "" } ?? ""
        var lines = [
            "# Pruning criteria on the embedded demo models", "",
            "Generated by `\(command)` on \(date) (\(machine)); \(String(format: "%.0f", seconds / 60)) minutes in all.", "",
            "Every criterion scores the model once per set of unit kinds (calibrated on the demo's prompts where it needs data), then "
                + "`PruningPlan` removes each target (ranked per unit kind; EcoDiff's λ across kinds, as its paper's single threshold; \"of params\" = of the prunable parameters, \"of model\" = of all "
                + "the model's parameters, \"of units\" = of the units), the model is exported with the units physically removed, reloaded, and sampled for the 72 prompts × \(samplesPerPrompt) from the same noise (seed \(evaluationSeed)) as the "
                + "original. Adherence: the analytic checker, strict, all four attributes right (colour / shape / count / position in "
                + "brackets). PSNR, SSIM: pruned images against the original's; latent MSE: final latents. Latency: one image alone "
                + "(batch 1, every step), median of 7, timed alternately with the original in the same window; speed-up = original / pruned."
                + seedNote, "",
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
            for summary in summaries where summary.model == model.name {
                let first = summary.rows[0]
                let parameters = summary.mean { Double($0.figures.parameters) }
                let removed = 1 - parameters / Double(o.parameters)
                let strict = summary.rows.count == 1 ? " (\(attributes(first.figures.adherence.strict)))" : ""
                lines.append(
                    "| \(summary.criterion)\(summary.units == "heads,neurons" ? "" : " (\(summary.units))") | \(Int((summary.target * 100).rounded())) % of \(summary.targetKind == "parameters" ? "params" : summary.targetKind) (\(percent(removed)) % of all) | \(Int(parameters.rounded()).formatted()) | "
                        + "\(summary.figure("%.3f") { $0.figures.gigaflopsPerImage }) | "
                        + "\(summary.figure("%.1f") { $0.figures.millisecondsPerImage }) (\(summary.figure("%.2f") { $0.speedup })×) | "
                        + "\(summary.figure("%.1f") { $0.figures.adherence.strict.all * 100 })\(strict) | \(summary.figure("%.1f") { $0.figures.adherence.lenient.all * 100 }) | "
                        + "\(summary.figure("%.2f") { $0.fidelity.psnr }) | \(summary.figure("%.4f") { $0.fidelity.ssim }) | \(summary.figure("%.4g") { $0.fidelity.latentMSE }) | "
                        + "\(summary.figure("%.0f") { $0.scoringSeconds }) |")
            }
            lines.append("")
            for target in [0.1, 0.2] {
                guard let verdict = ecoDiffVerdict(model: model.name, target: target) else { continue }
                lines += [verdict.sentence(original: o.adherence.strict.all), ""]
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func attributes(_ scores: AdherenceScores) -> String {
        [scores.colour, scores.shape, scores.count, scores.position].map { String(Int(($0 * 100).rounded())) }.joined(separator: " / ")
    }
}

/// One criterion, set of unit kinds and target on one model: its rows, one per seed.
public struct CriteriaComparisonSummary: Sendable {
    struct Key: Hashable {
        var model: String, criterion: String, units: String, targetKind: String, target: Double
        init(_ row: CriteriaComparisonRow) {
            (model, criterion, units, targetKind, target) = (row.model, row.criterion, row.units, row.targetKind, row.target)
        }
    }

    /// The rows, in seed order; never empty.
    public var rows: [CriteriaComparisonRow]
    public var model: String { rows[0].model }
    public var criterion: String { rows[0].criterion }
    public var units: String { rows[0].units }
    public var targetKind: String { rows[0].targetKind }
    public var target: Double { rows[0].target }

    /// The mean of `value` over the rows.
    public func mean(_ value: (CriteriaComparisonRow) -> Double) -> Double {
        rows.map(value).reduce(0, +) / Double(rows.count)
    }

    /// The sample standard deviation of `value` over the rows (0 for one row).
    public func standardDeviation(_ value: (CriteriaComparisonRow) -> Double) -> Double {
        guard rows.count > 1 else { return 0 }
        let average = mean(value)
        return (rows.map { (value($0) - average) * (value($0) - average) }.reduce(0, +) / Double(rows.count - 1)).squareRoot()
    }

    /// `value` formatted with `format`: the single value, or `mean ± standard deviation` over several seeds.
    func figure(_ format: String, _ value: (CriteriaComparisonRow) -> Double) -> String {
        let average = String(format: format, mean(value))
        return rows.count == 1 ? average : average + " ± " + String(format: format, standardDeviation(value))
    }
}

/// EcoDiff against every other criterion at one target (heads and neurons, means over seeds).
public struct EcoDiffVerdict: Sendable, Equatable {
    public var target: Double
    /// Strict adherence within 2 points of the original's.
    public var adherenceWithinTwoPoints: Bool
    /// No other criterion has a higher mean strict adherence.
    public var bestAdherence: Bool
    /// No other criterion has a higher mean PSNR to the original.
    public var bestPSNR: Bool
    public var beatenOnAdherenceBy: [String]
    public var beatenOnPSNRBy: [String]

    func sentence(original: Double) -> String {
        "EcoDiff at \(Int((target * 100).rounded())) %: adherence \(adherenceWithinTwoPoints ? "within" : "NOT within") 2 points of the original's "
            + String(format: "%.1f %%", original * 100) + "; "
            + (bestAdherence ? "the best adherence" : "adherence beaten by \(beatenOnAdherenceBy.joined(separator: ", "))") + "; "
            + (bestPSNR ? "the best PSNR" : "PSNR beaten by \(beatenOnPSNRBy.joined(separator: ", "))") + "."
    }
}
