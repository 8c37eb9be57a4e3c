import Foundation
import PruneDemo
import PruneDemoTestSupport
import PruneFlux
import PruneKit
import PruneSDXL
import PruneTestSupport
import Testing

@testable import prunekit

/// `prunekit prune` on demo models (the report, the out-of-the-box run), `demo-compare` and step distillation,
/// on toy-width demo models with the real block structures (random weights, so the run is fast).
@Suite struct DemoPruneTests {
    /// Writes a toy demo model of `architecture` (sampled with `steps` steps per its card) to `directory`.
    static func writeToyModel(_ architecture: DemoArchitecture, to directory: String, steps: Int = 2) throws {
        let model = try TinyDemoModels.model(architecture, seed: 3)
        let sampling = DemoSamplingSettings(steps: steps, guidanceScale: architecture.defaultGuidanceScale)
        let card = DemoModelCard(
            architecture: architecture, trainingCommand: "toy", training: DemoTrainingSettings(architecture: architecture, seed: 3, steps: 0),
            stepsCompleted: 0, trainingSeconds: 0, finalLoss: 0, denoiserParameters: model.parameterCounts.denoiser,
            textEncoderParameters: model.parameterCounts.textEncoder, sampling: sampling, samplesPerPrompt: 0, evaluationSeed: 0,
            adherence: nil, evaluationSeconds: 0)
        try DemoModelDirectory.write(model, card: card, samples: nil, lossChart: nil, to: directory)
    }

    @Test("Pruning a demo model with --report writes the report folder: both models measured, pictures, kept units per module")
    func reportFolder() throws {
        let model = PruneCommandTests.temporaryPath("toy-sdxl")
        let out = PruneCommandTests.temporaryPath("pruned")
        let report = PruneCommandTests.temporaryPath("report")
        defer { for path in [model, out, report] { try? FileManager.default.removeItem(atPath: path) } }
        try Self.writeToyModel(.sdxl, to: model)
        // In a child process: the GEMM counter behind the FLOPs is process-wide, and other tests run alongside.
        let outcome = try CLIProcess.run([
            "prune", "--model", model, "--criterion", "magnitude", "--target", "0.3", "--out", out, "--report", report,
        ])
        #expect(outcome.status == 0, "\(outcome.standardError.suffix(400))")
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: report))
        #expect(names == [OutputMarker.directoryMarker, "report.md", "report.json", "comparison.png", "original.png", "pruned.png"])  // no loss curve for magnitude
        let written = try JSONDecoder().decode(PruningReport.self, from: Data(contentsOf: URL(fileURLWithPath: report + "/report.json")))
        #expect(written.pruned.parameters < written.original.parameters)
        #expect(written.pruned.gigaflopsPerImage < written.original.gigaflopsPerImage)
        #expect(written.original.adherence.images == 72 && written.pruned.adherence.images == 72)
        #expect(written.modules.count == DemoPrunableModel(try DemoModelDirectory.load(model)).unitGroups(of: [.attentionHead, .feedForwardNeuron]).count)
        #expect(written.fidelity.psnr.isFinite && written.fidelity.ssim < 1)
        // 12 columns of 32×32 images at 4× with 2-pixel gutters: 6 original | pruned pairs per row, 12 rows.
        let comparison = try PNGFile.read(report + "/comparison.png")
        #expect(comparison.width == 12 * 128 + 13 * 2 && comparison.height == 12 * 128 + 13 * 2)
        #expect(try String(contentsOfFile: report + "/report.md", encoding: .utf8).contains("## Kept units per module"))
        // The export is itself a demo model: it loads with its own text encoder.
        #expect(DemoModelDirectory.isDemoModel(out))
        #expect(try DemoModelDirectory.load(out).parameterCounts.denoiser == written.pruned.parameters)
    }

    @Test("With no model argument, prune takes the embedded SDXL demo model, runs EcoDiff at 20 % and writes prunekit-demo with a loss curve")
    func outOfTheBox() throws {
        let root = PruneCommandTests.temporaryPath("out-of-the-box")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let models = root + "/Models"
        try Self.writeToyModel(.sdxl, to: models + "/demo-sdxl")
        let work = root + "/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        for attempt in 0..<2 {  // the second run replaces its own default folders
            // A generous limit: on two shared cores the debug build of this run has taken over 300 s.
            let outcome = try CLIProcess.run(
                ["prune", "--epochs", "1"], timeout: 1200, environment: [EmbeddedDemoModels.environmentVariable: models], directory: work)
            #expect(outcome.status == 0, "attempt \(attempt): \(outcome.standardError.suffix(400))")
        }
        let report = try JSONDecoder().decode(
            PruningReport.self, from: Data(contentsOf: URL(fileURLWithPath: work + "/" + DemoDefaults.report + "/report.json")))
        #expect(report.criterion == "ecodiff" && report.target == 0.2 && report.calibrationPrompts == 72)
        #expect(report.loss.count == 72)  // one epoch over the 72 prompts
        #expect(FileManager.default.fileExists(atPath: work + "/" + DemoDefaults.report + "/loss.png"))
        #expect(DemoModelDirectory.isDemoModel(work + "/" + DemoDefaults.output))
        #expect(!FileManager.default.fileExists(atPath: EcoDiffCheckpoint.defaultPath(forOutput: work + "/" + DemoDefaults.output)))
    }

    @Test("The embedded models are found through PRUNEKIT_MODELS first; a folder list without them names where it looked")
    func embeddedModelSearch() throws {
        let root = PruneCommandTests.temporaryPath("models")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Self.writeToyModel(.flux, to: root + "/demo-flux")
        let found = try EmbeddedDemoModels.directory(.flux, environment: [EmbeddedDemoModels.environmentVariable: root])
        #expect(found == root + "/demo-flux")
        let error = #expect(throws: DemoModelError.self) {
            try EmbeddedDemoModels.directory(.sdxl, searching: [root, root + "/elsewhere"])
        }
        #expect("\(error!)".contains(root + "/demo-sdxl") && "\(error!)".contains(EmbeddedDemoModels.environmentVariable))
    }

    @Test("--report on a model without a text encoder is refused before any work")
    func reportNeedsDemoModel() throws {
        let message = PruneCommandTests.failureMessage([
            "prune", "--model", Fixtures.path("sdxl-tiny"), "--criterion", "magnitude", "--out", PruneCommandTests.temporaryPath("x"),
            "--report", PruneCommandTests.temporaryPath("r"),
        ])
        #expect(message?.contains("needs a demo model") == true)
    }

    @Test("demo-compare measures every criterion asked at every target on both families and writes JSON and Markdown")
    func compareCriteria() throws {
        let root = PruneCommandTests.temporaryPath("compare")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Self.writeToyModel(.sdxl, to: root + "/demo-sdxl")
        try Self.writeToyModel(.flux, to: root + "/demo-flux")
        try PruneCommandTests.run([
            "demo-compare", "--model", root + "/demo-sdxl", "--model", root + "/demo-flux", "--criterion", "magnitude", "--criterion",
            "random", "--targets", "0.2,0.4", "--calibration-prompts", "2", "--out", root + "/docs",
        ])
        let comparison = try JSONDecoder().decode(
            CriteriaComparison.self, from: Data(contentsOf: URL(fileURLWithPath: root + "/docs/criteria-comparison.json")))
        #expect(comparison.models.map(\.name) == ["demo-sdxl", "demo-flux"])
        #expect(comparison.rows.count == 2 * 2 * 2)
        for row in comparison.rows {
            let original = comparison.models.first { $0.name == row.model }!.original
            #expect(row.figures.parameters < original.parameters)
        }
        let at40 = comparison.rows.filter { $0.target == 0.4 }.map(\.figures.parameters)
        let at20 = comparison.rows.filter { $0.target == 0.2 }.map(\.figures.parameters)
        #expect(zip(at40, at20).allSatisfy { $0 < $1 })
        let markdown = try String(contentsOfFile: root + "/docs/criteria-comparison.md", encoding: .utf8)
        #expect(markdown.contains("## demo-flux (FluxTransformer2DModel)") && markdown.contains("| random | 40 %"))
    }

    @Test("demo-compare --seeds runs each criterion per seed, measures a selection seeds share once and reports mean ± spread")
    func compareWithSeeds() throws {
        let root = PruneCommandTests.temporaryPath("compare-seeds")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Self.writeToyModel(.flux, to: root + "/demo-flux")
        try PruneCommandTests.run([
            "demo-compare", "--model", root + "/demo-flux", "--criterion", "magnitude", "--criterion", "random", "--targets", "0.3",
            "--seeds", "2", "--seed", "5", "--out", root + "/docs",
        ])
        let comparison = try JSONDecoder().decode(
            CriteriaComparison.self, from: Data(contentsOf: URL(fileURLWithPath: root + "/docs/criteria-comparison.json")))
        #expect(comparison.rows.map(\.seed) == [5, 6, 5, 6])
        let magnitude = comparison.rows.filter { $0.criterion == "magnitude" }
        // Magnitude ignores the seed: the second seed reuses the first's measurement.
        #expect(magnitude[0].figures == magnitude[1].figures && magnitude[0].fidelity == magnitude[1].fidelity)
        let random = comparison.rows.filter { $0.criterion == "random" }
        #expect(random[0].fidelity != random[1].fidelity)
        let summaries = comparison.summaries
        #expect(summaries.map(\.criterion) == ["magnitude", "random"] && summaries.allSatisfy { $0.rows.count == 2 })
        #expect(summaries[0].standardDeviation(\.fidelity.psnr) == 0 && summaries[1].standardDeviation(\.fidelity.psnr) > 0)
        let psnrs = random.map(\.fidelity.psnr)
        #expect(abs(summaries[1].mean(\.fidelity.psnr) - (psnrs[0] + psnrs[1]) / 2) < 1e-12)
        let markdown = try String(contentsOfFile: root + "/docs/criteria-comparison.md", encoding: .utf8)
        #expect(markdown.contains("2 seeds") && markdown.contains(String(format: "%.2f ± ", summaries[1].mean(\.fidelity.psnr))))
    }

    @Test("recover --student-steps distils a demo model into a student of fewer steps that stays a demo model")
    func stepDistillation() throws {
        let root = PruneCommandTests.temporaryPath("student")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Self.writeToyModel(.sdxl, to: root + "/teacher", steps: 4)
        let prompts = root + "/prompts.txt"
        try "a red circle on the left\ntwo blue squares\n".write(toFile: prompts, atomically: true, encoding: .utf8)
        try PruneCommandTests.run([
            "recover", "--original", root + "/teacher", "--pruned", root + "/teacher", "--method", "full", "--steps", "4",
            "--student-steps", "2", "--iterations", "4", "--learning-rate", "1e-4", "--prompts", prompts, "--out", root + "/student", "--report", root + "/r.json",
        ])
        let result = try JSONDecoder().decode(RecoveryReport.self, from: Data(contentsOf: URL(fileURLWithPath: root + "/r.json")))
        #expect(result.iterations == 4 && result.stepLossAfter < result.stepLossBefore)
        #expect(DemoModelDirectory.isDemoModel(root + "/student"))
        // The student prunes through its own 2-step schedule.
        try PruneCommandTests.run([
            "prune", "--model", root + "/student", "--criterion", "taylor", "--steps", "2", "--prompts", prompts, "--out", root + "/pruned",
        ])
        #expect(DemoModelDirectory.isDemoModel(root + "/pruned"))
    }
}
