import ArgumentParser
import Foundation
import PruneDemo
import PruneKit
import PruneTensor
import PruneVAE

/// `prunekit prune --report` for a real pipeline (a diffusers SDXL or FLUX folder, or an SDXL single file): the
/// original and the pruned denoiser generate the same prompts from the same noise through the source's text
/// encoders and VAE, exactly as `prunekit generate` does, and the folder holds
///
/// ```
/// report.md        summary, fidelity per image, the pictures, the loss, kept units per module
/// report.json      PipelinePruningReport
/// comparison.png   original | pruned per prompt and noise, captioned with PSNR and SSIM
/// original.png     the original's images in a row
/// pruned.png       the pruned model's images in a row
/// loss.png         EcoDiff's loss per iteration, labelled axes (only when there is one)
/// ```
struct PipelineReport {
    /// The source pipeline (folder or SDXL single file): text encoders, scheduler and VAE.
    var source: String
    /// The pruned export (a pipeline folder, or a denoiser folder when the source is a single file).
    var prunedModel: String
    var prompts: [String]
    var imagesPerPrompt: Int
    var height: Int
    var width: Int
    var steps: Int?
    var guidance: Float?
    var preset: String?
    var prompting: PipelinePrompts.Options
    /// The first image's noise seed; image `i` uses `evaluationSeed + i`.
    var evaluationSeed: UInt64 = 1_000_003

    /// What the prune run contributes.
    struct Pruning {
        var command: String
        var criterion: String
        var target: Double
        var seed: UInt64
        var calibrationPrompts: Int
        var pruningSeconds: Double
        var modules: [PlanRow]
        var loss: [LossPoint]
        var originalParameters: Int
        var prunedParameters: Int
        var architecture: String
    }

    /// One model's images and costs.
    private struct Generated {
        /// `[1, 3, H, W]` in [0, 1] each.
        var images: [Tensor] = []
        /// The same images in 8 bits, as `generate` writes them.
        var pictures: [RGBImage] = []
        /// Denoiser GEMM operations of the first image, ×10⁹.
        var gigaflops = 0.0
        var seconds: [Double] = []
        var denoisingSeconds: [Double] = []
        /// The settings the sampling loop resolved (the same for every image).
        var steps = 0
        var guidanceScale: Float = 0
        var scheduler = ""
    }

    /// Generates with both denoisers, measures them and writes the folder at once (a reader never sees a
    /// partial report).
    /// - Parameter original: the source's denoiser, already loaded by the prune run.
    func write(original: any PrunableModel, pruning: Pruning, to directory: String, replacing: Bool) throws -> PipelinePruningReport {
        var options = try SamplingOptions.parse(["--model", source, "--prompt", "report"])
        options.height = height
        options.width = width
        options.steps = steps
        options.guidance = guidance
        options.preset = preset
        printProgress("report: encoding \(prompts.count) prompts")
        let encoded = try PipelinePrompts.encode(prompts, model: source, options: prompting)
        let vae = try GenerateCommand.loadVAE(source)
        let originalImages = try generate(with: original, label: "original", options: options, encoded: encoded, vae: vae)
        printProgress("report: loading the pruned denoiser from \(prunedModel)")
        let pruned = try Architectures.loadModel(directory: prunedModel)
        let prunedImages = try generate(with: pruned, label: "pruned", options: options, encoded: encoded, vae: vae)

        var fidelity: [PipelineImageFidelity] = []
        var rows: [ComparisonSheet.Row] = []
        for index in originalImages.images.indices {
            let (a, b) = (originalImages.images[index].scalars(), prunedImages.images[index].scalars())
            let psnr = ImageMetrics.psnr(b, a)
            let ssim = ImageMetrics.ssim(b, a, height: height, width: width)  // validated: at least 16 × 16
            let entry = PipelineImageFidelity(prompt: prompts[index / imagesPerPrompt], noiseSeed: evaluationSeed + UInt64(index), psnr: psnr, ssim: ssim)
            fidelity.append(entry)
            let decibels = entry.psnr.map { String(format: "%.1f dB", $0) } ?? "identical"
            rows.append(
                ComparisonSheet.Row(
                    left: originalImages.pictures[index], right: prunedImages.pictures[index],
                    caption: "\(index + 1): PSNR \(decibels), SSIM \(String(format: "%.3f", ssim)) - \(entry.prompt)"))
        }
        let heads = pruning.modules.filter { $0.kind == .attentionHead }
        let neurons = pruning.modules.filter { $0.kind == .feedForwardNeuron }
        func figures(_ generated: Generated, parameters: Int, kept: Bool) -> PipelineModelFigures {
            PipelineModelFigures(
                parameters: parameters, heads: heads.reduce(0) { $0 + (kept ? $1.kept : $1.units) },
                neurons: neurons.reduce(0) { $0 + (kept ? $1.kept : $1.units) }, gigaflopsPerImage: generated.gigaflops,
                secondsPerImage: Self.median(generated.seconds), denoisingSecondsPerImage: Self.median(generated.denoisingSeconds))
        }
        let report = PipelinePruningReport(
            command: pruning.command, model: source, output: prunedModel, architecture: pruning.architecture, criterion: pruning.criterion,
            target: pruning.target, seed: pruning.seed, calibrationPrompts: pruning.calibrationPrompts, pruningSeconds: pruning.pruningSeconds,
            evaluation: .init(
                prompts: prompts, imagesPerPrompt: imagesPerPrompt, height: height, width: width, steps: originalImages.steps,
                guidanceScale: originalImages.guidanceScale, scheduler: originalImages.scheduler),
            original: figures(originalImages, parameters: pruning.originalParameters, kept: false),
            pruned: figures(prunedImages, parameters: pruning.prunedParameters, kept: true), images: fidelity,
            modules: pruning.modules, loss: pruning.loss)

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json = try encoder.encode(report)
        try AtomicDirectoryWriter.write(to: directory, replacing: replacing, kind: "report") { root in
            func path(_ name: String) -> String { URL(fileURLWithPath: root).appendingPathComponent(name).path }
            try json.write(to: URL(fileURLWithPath: path("report.json")))
            try Data(report.markdown.utf8).write(to: URL(fileURLWithPath: path("report.md")))
            try PNGFile.write(ComparisonSheet(rows: rows).render(), to: path("comparison.png"))
            try PNGFile.write(RGBImage.grid(concatenate(originalImages.images, axis: 0), columns: originalImages.images.count, scale: 1), to: path("original.png"))
            try PNGFile.write(RGBImage.grid(concatenate(prunedImages.images, axis: 0), columns: prunedImages.images.count, scale: 1), to: path("pruned.png"))
            if !pruning.loss.isEmpty { try PNGFile.write(LineChart.ecoDiffLoss(pruning.loss).render(), to: path("loss.png")) }
        }
        return report
    }

    /// Every prompt × noise through `denoiser`, each image timed, the first one's GEMM operations counted.
    private func generate(
        with denoiser: any PrunableModel, label: String, options: SamplingOptions, encoded: [PromptConditioning], vae: AutoencoderKL
    ) throws -> Generated {
        var generated = Generated()
        let total = encoded.count * imagesPerPrompt
        for index in 0..<total {
            var options = options
            options.seed = evaluationSeed + UInt64(index)
            let conditioning = encoded[index / imagesPerPrompt]
            let started = DispatchTime.now().uptimeNanoseconds
            let (result, operations) = try OperationCounter.counting {
                try options.run(
                    denoiser: denoiser, conditioning: conditioning, masks: .none,
                    trace: false, stepLabel: "report: \(label) image \(index + 1)/\(total), ")
            }
            let denoised = DispatchTime.now().uptimeNanoseconds
            let decoded = try GenerateCommand.decode(result, with: vae, tiled: false)
            let finished = DispatchTime.now().uptimeNanoseconds
            if index == 0 { generated.gigaflops = Double(operations) / 1e9 }
            generated.denoisingSeconds.append(Double(denoised - started) / 1e9)
            generated.seconds.append(Double(finished - started) / 1e9)
            generated.images.append(VAEImageProcessor.denormalized(decoded).contiguous())
            let picture = try VAEImageProcessor.rgb8Images(decoded)[0]
            generated.pictures.append(RGBImage(width: picture.width, height: picture.height, bytes: picture.bytes))
            (generated.steps, generated.guidanceScale, generated.scheduler) = (result.steps, result.guidanceScale, result.schedulerName)
        }
        return generated
    }

    static func median(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.sorted()[values.count / 2] }
}
