import Foundation
import PruneDemo
import PruneKit
import PruneTensor
import PruneTestSupport
import Testing

@testable import prunekit

/// `prunekit prune --report` on real pipelines (the tiny fixture pipelines): the report's pictures are the images
/// `prunekit generate` makes with the source and with the pruned pipeline from the same prompt and noise, and its
/// figures are the export's.
@Suite struct PipelineReportTests {
    static let prompts = ["a red fox in the snow", "a blue square at the top"]

    /// A fresh folder with the prompts file; removed by the caller.
    static func workspace(_ name: String) throws -> String {
        let root = ResolvedPath(CLITests.temporaryPath(name))!.path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try Data((prompts.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: root + "/prompts.txt"))
        return root
    }

    /// Image `index` of a one-row grid of `side`-pixel images (`RGBImage.grid`, scale 1, 2-pixel gutter).
    static func cell(_ grid: RGBImage, index: Int, side: Int) -> RGBImage {
        var bytes: [UInt8] = []
        for y in 2..<(2 + side) {
            for x in 0..<side {
                let pixel = grid.pixel(2 + index * (side + 2) + x, y)
                bytes += [pixel.0, pixel.1, pixel.2]
            }
        }
        return RGBImage(width: side, height: side, bytes: bytes)
    }

    static func largestDifference(_ a: RGBImage, _ b: RGBImage) -> Int {
        zip(a.bytes, b.bytes).map { abs(Int($0) - Int($1)) }.max() ?? .max
    }

    @Test("an SDXL pipeline's report shows what generate makes with the original and the pruned pipeline, with the export's figures")
    func sdxlReportMatchesGenerate() throws {
        let root = try Self.workspace("pipeline-report-sdxl")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let source = Fixtures.path("sdxl-pipeline-tiny")
        // In a child process: the GEMM counter behind the FLOPs is process-wide, and other tests run alongside.
        let outcome = try CLIProcess.run([
            "prune", "--model", source, "--criterion", "magnitude", "--target", "0.3", "--out", root + "/pruned", "--report", root + "/report",
            "--prompts", root + "/prompts.txt", "--report-size", "32", "--report-steps", "2",
        ])
        #expect(outcome.status == 0, "\(outcome.standardError.suffix(400))")
        let report = try JSONDecoder().decode(PipelinePruningReport.self, from: Data(contentsOf: URL(fileURLWithPath: root + "/report/report.json")))
        let manifest = try JSONDecoder().decode(ExportManifest.self, from: Data(contentsOf: URL(fileURLWithPath: root + "/pruned/prunekit.json")))
        #expect(report.evaluation.prompts == Self.prompts && report.evaluation.steps == 2 && report.evaluation.height == 32)
        #expect(report.original.parameters == manifest.source.parameterCount && report.pruned.parameters == manifest.parameterCount)
        #expect(report.pruned.parameters < report.original.parameters)
        #expect(report.pruned.heads == manifest.units["head"]?.kept && report.original.neurons == manifest.units["neuron"]?.original)
        #expect(report.pruned.gigaflopsPerImage < report.original.gigaflopsPerImage && report.pruned.gigaflopsPerImage > 0)
        #expect(report.images.count == 2 && report.loss.isEmpty)
        #expect(OutputMarker.isPruneKitDirectory(root + "/report"))
        for name in ["report.md", "comparison.png", "original.png", "pruned.png"] {
            #expect(FileManager.default.fileExists(atPath: root + "/report/" + name), "\(name)")
        }
        #expect(!FileManager.default.fileExists(atPath: root + "/report/loss.png"))

        // The same prompt and noise through `generate`, with the source and with the pruned pipeline.
        let originals = try PNGFile.read(root + "/report/original.png")
        let pruneds = try PNGFile.read(root + "/report/pruned.png")
        for (index, prompt) in Self.prompts.enumerated() {
            let seed = String(report.images[index].noiseSeed)
            let common = ["--prompt", prompt, "--steps", "2", "--height", "32", "--width", "32", "--seed", seed]
            try CLITests.run(["generate", "--model", source] + common + ["--output", root + "/original-\(index).png"])
            try CLITests.run(["generate", "--model", root + "/pruned"] + common + ["--output", root + "/pruned-\(index).png"])
            let original = try PNGFile.read(root + "/original-\(index).png")
            let pruned = try PNGFile.read(root + "/pruned-\(index).png")
            // The grids round half away from zero, generate half to even: at most one level apart.
            #expect(Self.largestDifference(Self.cell(originals, index: index, side: 32), original) <= 1)
            #expect(Self.largestDifference(Self.cell(pruneds, index: index, side: 32), pruned) <= 1)
            let psnr = ImageMetrics.psnr(pruned.bytes.map { Float($0) / 255 }, original.bytes.map { Float($0) / 255 })
            #expect(abs(psnr - report.images[index].psnr!) < 0.2, "8-bit PSNR \(psnr) vs the report's \(report.images[index].psnr!)")
        }
        let markdown = try String(contentsOfFile: root + "/report/report.md", encoding: .utf8)
        #expect(markdown.contains("| parameters (denoiser) |") && markdown.contains("![original vs pruned](comparison.png)"))
    }

    @Test("a FLUX pipeline pruned with EcoDiff gets its loss chart, and an SDXL single file its report beside a bare denoiser export")
    func fluxEcoDiffAndSingleFile() throws {
        let root = try Self.workspace("pipeline-report-flux")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try CLITests.run([
            "prune", "--model", Fixtures.path("flux-pipeline-tiny"), "--criterion", "ecodiff", "--epochs", "2", "--steps", "2",
            "--height", "32", "--width", "32", "--max-sequence-length", "16", "--target", "0.2", "--out", root + "/flux",
            "--report", root + "/flux-report", "--prompts", root + "/prompts.txt", "--report-size", "32", "--report-samples", "2",
        ])
        let flux = try JSONDecoder().decode(PipelinePruningReport.self, from: Data(contentsOf: URL(fileURLWithPath: root + "/flux-report/report.json")))
        #expect(flux.architecture == "FluxTransformer2DModel" && flux.evaluation.steps == 2 && flux.evaluation.imagesPerPrompt == 2)
        #expect(flux.images.count == 4 && flux.images.map(\.noiseSeed) == [1_000_003, 1_000_004, 1_000_005, 1_000_006])
        #expect(flux.loss.count == 4, "2 epochs × 2 prompts, one optimizer step each")
        #expect(flux.pruned.parameters < flux.original.parameters)
        #expect(try PNGFile.read(root + "/flux-report/loss.png").width == 480)

        try CLITests.run([
            "prune", "--model", Fixtures.path("sdxl-pipeline-tiny.safetensors"), "--criterion", "magnitude", "--target", "0.3",
            "--out", root + "/single", "--report", root + "/single-report", "--report-prompts", root + "/prompts.txt",
            "--report-size", "32", "--report-steps", "1", "--tokenizer", Fixtures.path("sdxl-pipeline-tiny"),
        ])
        let single = try JSONDecoder().decode(PipelinePruningReport.self, from: Data(contentsOf: URL(fileURLWithPath: root + "/single-report/report.json")))
        #expect(single.architecture == "UNet2DConditionModel" && single.images.count == 2)
        #expect(single.pruned.parameters < single.original.parameters)
        #expect(FileManager.default.fileExists(atPath: root + "/single/config.json"), "a single file prunes to a bare denoiser folder")
    }

    @Test("a report that cannot be made is refused before any work, naming the flag")
    func refusals() throws {
        let root = try Self.workspace("pipeline-report-refusals")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let pipeline = Fixtures.path("sdxl-pipeline-tiny")
        let cases: [([String], String)] = [
            (["--model", Fixtures.path("sdxl-tiny"), "--report", root + "/r"], "needs a demo model or a pipeline"),
            (["--model", pipeline, "--report", root + "/r"], "needs prompts to show"),
            (["--model", pipeline, "--report", root + "/r", "--report-prompts", root + "/prompts.txt", "--report-size", "40"], "--report-size must be a multiple of 16"),
            (["--model", pipeline, "--report-prompts", root + "/prompts.txt"], "apply to --report"),
            (["--model", pipeline, "--report", root + "/r", "--report-prompts", root + "/missing.txt"], "--report-prompts \(root)/missing.txt not found"),
        ]
        for (arguments, message) in cases {
            let outcome = try CLIProcess.run(["prune", "--criterion", "magnitude", "--out", root + "/out"] + arguments)
            #expect(outcome.status == 64 && outcome.standardError.contains(message), "\(arguments): \(outcome.standardError)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: root) == ["prompts.txt"])
    }
}
