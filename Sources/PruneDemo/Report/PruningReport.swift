import Foundation
import PruneKit

/// One mask-learning iteration of an EcoDiff run, as the loss curve plots it.
public struct LossPoint: Codable, Sendable, Equatable {
    public var iteration: Int
    public var total: Float
    public var reconstruction: Float
    public var penalty: Float
    /// Share of units whose λ is positive after the iteration.
    public var kept: Double

    public init(iteration: Int, total: Float, reconstruction: Float, penalty: Float, kept: Double) {
        self.iteration = iteration
        self.total = total
        self.reconstruction = reconstruction
        self.penalty = penalty
        self.kept = kept
    }
}

/// What `prunekit prune --report` writes as `report.json` (and renders as `report.md`): how the pruning ran,
/// the original and the pruned model measured the same way, their fidelity, and what each module kept.
public struct PruningReport: Codable, Sendable {
    /// The command that produced the report.
    public var command: String
    public var model: String
    public var architecture: String
    public var criterion: String
    /// Fraction of the prunable parameters (or units) the plan removes.
    public var target: Double
    public var seed: UInt64
    public var calibrationPrompts: Int
    public var calibrationSteps: Int
    public var guidanceScale: Float
    /// Wall time of calibration, scoring (mask learning for EcoDiff) and export.
    public var pruningSeconds: Double
    /// Images per prompt of the evaluation and its noise seed.
    public var samplesPerPrompt: Int
    public var evaluationSeed: UInt64
    public var original: DemoModelFigures
    public var pruned: DemoModelFigures
    public var fidelity: DemoFidelity
    /// Per module: units kept of units (the plan's rows).
    public var modules: [PlanRow]
    /// EcoDiff's loss per iteration (empty for other criteria).
    public var loss: [LossPoint]

    public init(
        command: String, model: String, architecture: String, criterion: String, target: Double, seed: UInt64,
        calibrationPrompts: Int, calibrationSteps: Int, guidanceScale: Float, pruningSeconds: Double, samplesPerPrompt: Int,
        evaluationSeed: UInt64, original: DemoModelFigures, pruned: DemoModelFigures, fidelity: DemoFidelity, modules: [PlanRow],
        loss: [LossPoint]
    ) {
        self.command = command
        self.model = model
        self.architecture = architecture
        self.criterion = criterion
        self.target = target
        self.seed = seed
        self.calibrationPrompts = calibrationPrompts
        self.calibrationSteps = calibrationSteps
        self.guidanceScale = guidanceScale
        self.pruningSeconds = pruningSeconds
        self.samplesPerPrompt = samplesPerPrompt
        self.evaluationSeed = evaluationSeed
        self.original = original
        self.pruned = pruned
        self.fidelity = fidelity
        self.modules = modules
        self.loss = loss
    }

    enum CodingKeys: String, CodingKey {
        case command, model, architecture, criterion, target, seed, calibrationPrompts = "calibration_prompts"
        case calibrationSteps = "calibration_steps", guidanceScale = "guidance_scale", pruningSeconds = "pruning_seconds"
        case samplesPerPrompt = "samples_per_prompt", evaluationSeed = "evaluation_seed", original, pruned, fidelity, modules, loss
    }

    /// `report.md`: summary table, fidelity, the pictures, and the per-module table.
    public var markdown: String {
        func percent(_ value: Double) -> String { String(format: "%.1f %%", value * 100) }
        func count(_ value: Int) -> String { value.formatted(.number.grouping(.automatic)) }
        func change(_ before: Double, _ after: Double) -> String { String(format: "%+.1f %%", (after / before - 1) * 100) }
        var lines = [
            "# Pruning report: \(criterion) at \(Int((target * 100).rounded())) % on \(model)", "",
            "`\(command)`", "",
            "\(architecture), calibrated on \(calibrationPrompts) prompts × \(calibrationSteps) steps (guidance \(guidanceScale)), seed \(seed); "
                + String(format: "pruning took %.0f s. ", pruningSeconds)
                + "Both models generate the same \(original.adherence.images) images (\(samplesPerPrompt) per prompt of the 72, noise seed \(evaluationSeed)).",
            "",
            "| | original | pruned | change |", "|---|---|---|---|",
            "| parameters (denoiser) | \(count(original.parameters)) | \(count(pruned.parameters)) | \(change(Double(original.parameters), Double(pruned.parameters))) |",
            "| attention heads | \(original.heads) | \(pruned.heads) | \(change(Double(original.heads), Double(pruned.heads))) |",
            "| FFN neurons | \(original.neurons) | \(pruned.neurons) | \(change(Double(original.neurons), Double(pruned.neurons))) |",
            String(format: "| GFLOPs per image (GEMM) | %.3f | %.3f | %@ |", original.gigaflopsPerImage, pruned.gigaflopsPerImage,
                   change(original.gigaflopsPerImage, pruned.gigaflopsPerImage)),
            String(format: "| ms per image (batch 1, median of 7, timed alternately) | %.1f | %.1f | %@ |", original.millisecondsPerImage, pruned.millisecondsPerImage,
                   change(original.millisecondsPerImage, pruned.millisecondsPerImage)),
            "| adherence, all four right (strict) | \(percent(original.adherence.strict.all)) | \(percent(pruned.adherence.strict.all)) | "
                + String(format: "%+.1f points |", (pruned.adherence.strict.all - original.adherence.strict.all) * 100),
            "| colour / shape / count / position (strict) | \(scores(original.adherence.strict)) | \(scores(pruned.adherence.strict)) | |",
            "| adherence, all four right (lenient) | \(percent(original.adherence.lenient.all)) | \(percent(pruned.adherence.lenient.all)) | "
                + String(format: "%+.1f points |", (pruned.adherence.lenient.all - original.adherence.lenient.all) * 100),
            "",
            String(format: "Fidelity of the pruned model to the original from the same noise: PSNR %.2f dB, SSIM %.4f, latent MSE %.4g.",
                   fidelity.psnr, fidelity.ssim, fidelity.latentMSE),
            "",
            "## Pictures", "",
            "- `comparison.png`: the 72 prompts, each as a pair — original (left) and pruned (right) from the same noise; "
                + "rows: red, green, blue, yellow circles, then squares and triangles; pairs: left, right, top, bottom, center, two.",
            "- `original.png`, `pruned.png`: the same images, one grid per model.",
            "- `loss.png`: EcoDiff's loss per iteration (light: total; dark: reconstruction; log scale)." , "",
            "![original vs pruned](comparison.png)", "",
        ]
        if !loss.isEmpty {
            let first = loss.first!, last = loss.last!
            lines += [
                "![loss](loss.png)", "",
                String(format: "Loss %.4g → %.4g (reconstruction %.4g → %.4g) over %d iterations; units with λ > 0: %.1f %% → %.1f %%.",
                       first.total, last.total, first.reconstruction, last.reconstruction, loss.count, first.kept * 100, last.kept * 100), "",
            ]
        }
        lines += ["## Kept units per module", ""] + PlanRow.markdownTable(modules)
        return lines.joined(separator: "\n") + "\n"
    }

    private func scores(_ scores: AdherenceScores) -> String {
        [scores.colour, scores.shape, scores.count, scores.position].map { String(Int(($0 * 100).rounded())) }.joined(separator: " / ")
    }
}

extension PlanRow {
    /// A report's "kept units per module" table: a header, a separator and one line per row.
    static func markdownTable(_ rows: [PlanRow]) -> [String] {
        ["| module | kind | kept | of | parameters removed |", "|---|---|---|---|---|"]
            + rows.map { "| `\($0.module)` | \($0.kind.rawValue) | \($0.kept) | \($0.units) | \($0.parametersRemoved.formatted(.number.grouping(.automatic))) |" }
    }
}

extension LineChart {
    /// EcoDiff's loss per mask-learning iteration: the total (light) and its reconstruction term (dark), log scale.
    public static func ecoDiffLoss(_ loss: [LossPoint]) -> LineChart {
        LineChart(
            series: [
                Series(values: loss.map(\.total), colour: (170, 200, 255), name: "total"),
                Series(values: loss.map(\.reconstruction), colour: (20, 60, 200), name: "reconstruction"),
            ], xLabel: "iteration", yLabel: "loss (log scale)")
    }
}
