import ArgumentParser
import Foundation
import PruneDemo
import PruneKit
import PruneNN
import PruneTensor

/// `prunekit demo-sample`: images from a demo model for prompts of the shapes grammar, as a PNG grid.
struct DemoSampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-sample",
        abstract: "Generate images with a demo model (see train-demo) and write them as a PNG grid.",
        discussion: """
            Without --prompt, every prompt of the grammar is drawn once per --count, in a 6-column grid (one row \
            per shape and colour: left, right, top, bottom, center, pair). Image i starts from the same noise for \
            every model, so a pruned model's grid lines up with its original's. --compare-to samples another \
            model (the unpruned original) from the same noise and reports PSNR and SSIM of the images and the MSE \
            of the final latents. --json writes the adherence (and fidelity) scores.
            """)

    @Option(help: "A demo model directory (or a pruned export of one, with --text-from).") var model: String
    @Option(help: "Take the tokenizer and text encoder from this demo model directory.") var textFrom: String?
    @Option(help: "A demo model to compare against from the same noise (PSNR, SSIM, latent MSE).") var compareTo: String?
    @Option(help: "--compare-to: sample the reference with this many steps (default: --steps), e.g. a 20-step teacher for a 4-step student.")
    var referenceSteps: Int?
    @Option(name: .customLong("prompt"), help: "A prompt (repeatable), e.g. \"a red circle on the left\".") var prompts: [String] = []
    @Option(help: "Images per prompt.") var count: Int = 1
    @Option(help: "Seed of the starting noise.") var seed: UInt64 = 1_000_003
    @Option(help: "Sampling steps.") var steps: Int = 20
    @Option(help: "Classifier-free guidance scale (default: the model's, from demo.json or its family: SDXL 1, FLUX 3).")
    var guidance: Float?
    @Option(help: "A safetensors file of unit masks (mask.<module key>).") var masks: String?
    @Option(help: "Grid columns (default 6 for all prompts, else the number of prompts).") var columns: Int?
    @Option(help: "Where to write the PNG grid.") var output: String
    @Option(help: "Also write adherence scores to this JSON file.") var json: String?
    @Flag(help: "Replace an existing --output or --json written by PruneKit (nothing else is ever replaced).") var overwrite = false

    var outputRequests: [OutputRequest] {
        [OutputRequest(flag: "--output", path: output, kind: .file(.png))]
            + (json.map { [OutputRequest(flag: "--json", path: $0, kind: .file(.json))] } ?? [])
    }
    var inputPaths: [InputPath] {
        CommandOutputs.inputs([("--model", model), ("--text-from", textFrom), ("--compare-to", compareTo), ("--masks", masks)])
    }

    func validate() throws {
        guard count > 0, steps > 0, (referenceSteps ?? 1) > 0 else { throw ValidationError("--count, --steps and --reference-steps must be at least 1") }
        if let columns, columns <= 0 { throw ValidationError("--columns must be positive") }
        try CommandOutputs.validate(outputRequests, inputs: inputPaths)
    }

    func run() throws {
        let claim = try CommandOutputs.claim(outputRequests, inputs: inputPaths, overwrite: overwrite)
        defer { claim.release() }
        let demo = try DemoModelDirectory.load(model, textDirectory: textFrom)
        let chosen = try prompts.isEmpty ? ShapePrompt.all : prompts.map { try ShapePrompt(parsing: $0) }
        let all = (0..<count).flatMap { _ in chosen }
        let unitMasks = try masks.map(UnitMasks.load(path:)) ?? .none
        let guidanceScale = try guidance ?? DemoModelDirectory.card(textFrom ?? model)?.sampling.guidanceScale ?? demo.architecture.defaultGuidanceScale
        let sampler = DemoSampler(model: demo, settings: DemoSamplingSettings(steps: steps, guidanceScale: guidanceScale))
        let settings = sampler.settings
        let (latents, images) = try sampler.sample(prompts: all.map(\.text), seed: seed, noiseIndices: Array(all.indices), masks: unitMasks)
        let grid = RGBImage.grid(images, columns: columns ?? (prompts.isEmpty ? 6 : chosen.count))
        try PNGFile.write(grid, to: output)
        let report = AdherenceReport(images: images.scalars(), size: DemoArchitecture.imageSize, prompts: all)
        var lines = [report.summary]
        var fidelity: DemoFidelity?
        if let compareTo {
            let reference = try DemoModelDirectory.load(compareTo)
            var referenceSettings = settings
            referenceSettings.steps = referenceSteps ?? settings.steps
            let (referenceLatents, referenceImages) = try DemoSampler(model: reference, settings: referenceSettings).sample(
                prompts: all.map(\.text), seed: seed, noiseIndices: Array(all.indices))
            let side = DemoArchitecture.imageSize
            let (psnr, ssim) = ImageMetrics.compare(images.scalars(), referenceImages.scalars(), count: all.count, height: side, width: side)
            fidelity = DemoFidelity(
                psnr: psnr, ssim: ssim, latentMSE: ImageMetrics.meanSquaredError(latents.scalars(), referenceLatents.scalars()))
            lines.append(String(format: "vs %@: PSNR %.2f dB, SSIM %.4f, latent MSE %.3g", compareTo, psnr, ssim, fidelity!.latentMSE))
        }
        FileHandle.standardError.write(Data((lines + ["wrote \(output)"]).joined(separator: "\n").appending("\n").utf8))
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            let data = try encoder.encode(DemoSampleReport(adherence: report, fidelity: fidelity))
            try AtomicFileWriter.write(OutputMarker.marking(json: data, kind: "demo-sample"), to: json)
        }
    }
}

/// Image and latent fidelity of one model's samples to another's from the same noise.
/// What `demo-sample --json` writes.
struct DemoSampleReport: Codable {
    var adherence: AdherenceReport
    var fidelity: DemoFidelity?
}
