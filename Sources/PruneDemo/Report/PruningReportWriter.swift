import Foundation
import PruneKit
import PruneTensor

/// Measures a demo model and its pruned export side by side and writes the report folder:
///
/// ```
/// report.md        summary, fidelity, pictures, kept units per module
/// report.json      PruningReport
/// comparison.png   original | pruned pairs for the 72 prompts (first round), same noise
/// original.png     the original's images (first round)
/// pruned.png       the pruned model's images (first round)
/// loss.png         EcoDiff's loss per iteration (only when there is one)
/// ```
public enum PruningReportWriter {
    /// What a report is made from besides the two models.
    public struct Run: Sendable {
        public var command: String
        public var modelName: String
        public var criterion: String
        public var target: Double
        public var seed: UInt64
        public var calibrationPrompts: Int
        public var sampling: DemoSamplingSettings
        public var pruningSeconds: Double
        public var modules: [PlanRow]
        public var loss: [LossPoint]
        public var samplesPerPrompt: Int
        public var evaluationSeed: UInt64

        public init(
            command: String, modelName: String, criterion: String, target: Double, seed: UInt64, calibrationPrompts: Int,
            sampling: DemoSamplingSettings, pruningSeconds: Double, modules: [PlanRow], loss: [LossPoint], samplesPerPrompt: Int = 1,
            evaluationSeed: UInt64 = 1_000_003
        ) {
            self.command = command
            self.modelName = modelName
            self.criterion = criterion
            self.target = target
            self.seed = seed
            self.calibrationPrompts = calibrationPrompts
            self.sampling = sampling
            self.pruningSeconds = pruningSeconds
            self.modules = modules
            self.loss = loss
            self.samplesPerPrompt = samplesPerPrompt
            self.evaluationSeed = evaluationSeed
        }
    }

    /// Samples both models from the same noise, measures them, and writes the folder at once (a reader never
    /// sees a partial report).
    /// - Parameter progress: one line per stage.
    /// - Returns: the report written.
    /// - Throws: sampling, PNG and file errors.
    @discardableResult
    public static func write(
        original: DemoModel, pruned: DemoModel, run: Run, to directory: String, replacing: Bool, progress: (String) -> Void = { _ in }
    ) throws -> PruningReport {
        progress("report: sampling \(72 * run.samplesPerPrompt) images with the original")
        let originalMeasured = try DemoMeasurement.measure(
            original, sampling: run.sampling, samplesPerPrompt: run.samplesPerPrompt, seed: run.evaluationSeed, latencyRuns: 1)
        var originalFigures = originalMeasured.figures
        let originalEvaluation = originalMeasured.evaluation
        progress("report: sampling the same images with the pruned model")
        let prunedMeasured = try DemoMeasurement.measure(
            pruned, sampling: run.sampling, samplesPerPrompt: run.samplesPerPrompt, seed: run.evaluationSeed, latencyRuns: 1)
        var prunedFigures = prunedMeasured.figures
        let prunedEvaluation = prunedMeasured.evaluation
        progress("report: timing both models, alternately")
        let times = try DemoMeasurement.latencies([original, pruned], sampling: run.sampling, seed: run.evaluationSeed)
        originalFigures.millisecondsPerImage = times[0]
        prunedFigures.millisecondsPerImage = times[1]
        let report = PruningReport(
            command: run.command, model: run.modelName, architecture: original.architecture.denoiserClassName,
            criterion: run.criterion, target: run.target, seed: run.seed, calibrationPrompts: run.calibrationPrompts,
            calibrationSteps: run.sampling.steps, guidanceScale: run.sampling.guidanceScale, pruningSeconds: run.pruningSeconds,
            samplesPerPrompt: run.samplesPerPrompt, evaluationSeed: run.evaluationSeed, original: originalFigures, pruned: prunedFigures,
            fidelity: DemoFidelity(prunedEvaluation, reference: originalEvaluation), modules: run.modules, loss: run.loss)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json = try encoder.encode(report)
        let firstRound = 0..<ShapePrompt.all.count
        let originalImages = originalEvaluation.images.sliced(axis: 0, firstRound).contiguous()
        let prunedImages = prunedEvaluation.images.sliced(axis: 0, firstRound).contiguous()
        try AtomicDirectoryWriter.write(to: directory, replacing: replacing, kind: "report") { root in
            func path(_ name: String) -> String { URL(fileURLWithPath: root).appendingPathComponent(name).path }
            try json.write(to: URL(fileURLWithPath: path("report.json")))
            try Data(report.markdown.utf8).write(to: URL(fileURLWithPath: path("report.md")))
            try PNGFile.write(RGBImage.grid(DemoMeasurement.interleaved(originalImages, prunedImages), columns: 12), to: path("comparison.png"))
            try PNGFile.write(RGBImage.grid(originalImages, columns: 6), to: path("original.png"))
            try PNGFile.write(RGBImage.grid(prunedImages, columns: 6), to: path("pruned.png"))
            if !run.loss.isEmpty {
                try PNGFile.write(LineChart.ecoDiffLoss(run.loss).render(), to: path("loss.png"))
            }
        }
        return report
    }
}
