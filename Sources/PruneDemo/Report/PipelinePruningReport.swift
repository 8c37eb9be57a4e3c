import Foundation
import PruneKit

/// Size and cost of one pipeline's denoiser, measured on the report's images.
public struct PipelineModelFigures: Codable, Sendable, Equatable {
    /// Denoiser parameters.
    public var parameters: Int
    public var heads: Int
    public var neurons: Int
    /// GEMM floating-point operations of the denoiser for one image (every step, guidance included), ×10⁹.
    public var gigaflopsPerImage: Double
    /// Median wall time of one image (denoising and VAE decoding) over the report's images, seconds.
    public var secondsPerImage: Double
    /// Median wall time of the denoising loop alone over the report's images, seconds.
    public var denoisingSecondsPerImage: Double

    public init(
        parameters: Int, heads: Int, neurons: Int, gigaflopsPerImage: Double, secondsPerImage: Double, denoisingSecondsPerImage: Double
    ) {
        self.parameters = parameters
        self.heads = heads
        self.neurons = neurons
        self.gigaflopsPerImage = gigaflopsPerImage
        self.secondsPerImage = secondsPerImage
        self.denoisingSecondsPerImage = denoisingSecondsPerImage
    }

    enum CodingKeys: String, CodingKey {
        case parameters, heads, neurons, gigaflopsPerImage = "gigaflops_per_image", secondsPerImage = "seconds_per_image"
        case denoisingSecondsPerImage = "denoising_seconds_per_image"
    }
}

/// The pruned model's image for one prompt and noise against the original's.
public struct PipelineImageFidelity: Codable, Sendable, Equatable {
    public var prompt: String
    /// Seed of the initial noise (the same for both models).
    public var noiseSeed: UInt64
    /// dB, images in [0, 1]; `nil` (JSON null) when the images are identical (+∞).
    public var psnr: Double?
    public var ssim: Double

    public init(prompt: String, noiseSeed: UInt64, psnr: Double, ssim: Double) {
        self.prompt = prompt
        self.noiseSeed = noiseSeed
        self.psnr = psnr.isFinite ? psnr : nil
        self.ssim = ssim
    }

    enum CodingKeys: String, CodingKey { case prompt, noiseSeed = "noise_seed", psnr, ssim }
}

/// What `prunekit prune --report` writes for a pipeline (SDXL or FLUX, folder or single file) as `report.json`,
/// rendered as `report.md`: how the pruning ran, both denoisers measured on the same prompts and noise at the
/// report's resolution and step count, the images' fidelity, the loss curve and the kept units per module.
public struct PipelinePruningReport: Codable, Sendable {
    /// How the report's images were generated.
    public struct Evaluation: Codable, Sendable, Equatable {
        public var prompts: [String]
        public var imagesPerPrompt: Int
        public var height: Int
        public var width: Int
        public var steps: Int
        public var guidanceScale: Float
        public var scheduler: String

        public init(prompts: [String], imagesPerPrompt: Int, height: Int, width: Int, steps: Int, guidanceScale: Float, scheduler: String) {
            self.prompts = prompts
            self.imagesPerPrompt = imagesPerPrompt
            self.height = height
            self.width = width
            self.steps = steps
            self.guidanceScale = guidanceScale
            self.scheduler = scheduler
        }

        enum CodingKeys: String, CodingKey {
            case prompts, height, width, steps, scheduler, imagesPerPrompt = "images_per_prompt", guidanceScale = "guidance_scale"
        }
    }

    public var command: String
    /// The source pipeline and the pruned export.
    public var model: String
    public var output: String
    public var architecture: String
    public var criterion: String
    public var target: Double
    public var seed: UInt64
    public var calibrationPrompts: Int
    /// Wall time of calibration, scoring (mask learning for EcoDiff) and export, seconds.
    public var pruningSeconds: Double
    public var evaluation: Evaluation
    public var original: PipelineModelFigures
    public var pruned: PipelineModelFigures
    /// One entry per image, in the order of the pictures.
    public var images: [PipelineImageFidelity]
    /// Mean PSNR over the images with a finite PSNR (`nil` when every image is identical), and mean SSIM.
    public var meanPSNR: Double?
    public var meanSSIM: Double
    /// Per module: units kept of units (the plan's rows).
    public var modules: [PlanRow]
    /// EcoDiff's loss per iteration (empty for other criteria).
    public var loss: [LossPoint]

    public init(
        command: String, model: String, output: String, architecture: String, criterion: String, target: Double, seed: UInt64,
        calibrationPrompts: Int, pruningSeconds: Double, evaluation: Evaluation, original: PipelineModelFigures,
        pruned: PipelineModelFigures, images: [PipelineImageFidelity], modules: [PlanRow], loss: [LossPoint]
    ) {
        self.command = command
        self.model = model
        self.output = output
        self.architecture = architecture
        self.criterion = criterion
        self.target = target
        self.seed = seed
        self.calibrationPrompts = calibrationPrompts
        self.pruningSeconds = pruningSeconds
        self.evaluation = evaluation
        self.original = original
        self.pruned = pruned
        self.images = images
        let finite = images.compactMap(\.psnr)
        meanPSNR = finite.isEmpty ? nil : finite.reduce(0, +) / Double(finite.count)
        meanSSIM = images.isEmpty ? 1 : images.map(\.ssim).reduce(0, +) / Double(images.count)
        self.modules = modules
        self.loss = loss
    }

    enum CodingKeys: String, CodingKey {
        case command, model, output, architecture, criterion, target, seed, evaluation, original, pruned, images, modules, loss
        case calibrationPrompts = "calibration_prompts", pruningSeconds = "pruning_seconds", meanPSNR = "mean_psnr", meanSSIM = "mean_ssim"
    }

    /// `report.md`: summary table, fidelity per image, the pictures, the loss, and the per-module table.
    public var markdown: String {
        func count(_ value: Int) -> String { value.formatted(.number.grouping(.automatic)) }
        func change(_ before: Double, _ after: Double) -> String { before > 0 ? String(format: "%+.1f %%", (after / before - 1) * 100) : "" }
        func decibels(_ value: Double?) -> String { value.map { String(format: "%.2f dB", $0) } ?? "identical" }
        let e = evaluation
        var lines = [
            "# Pruning report: \(criterion) at \(Int((target * 100).rounded())) % on \(model)", "",
            "`\(command)`", "",
            "\(architecture), " + (calibrationPrompts > 0 ? "calibrated on \(calibrationPrompts) prompts" : "data-free criterion (no calibration)")
                + ", seed \(seed); "
                + String(format: "pruning took %.0f s; the pruned pipeline is `%@`. ", pruningSeconds, output)
                + "Both denoisers generate the same \(images.count) images (\(e.prompts.count) prompts × \(e.imagesPerPrompt)) from the "
                + "same noise at \(e.width)×\(e.height) px, \(e.steps) steps of \(e.scheduler), guidance \(e.guidanceScale), with the "
                + "source pipeline's text encoders and VAE.",
            "",
            "| | original | pruned | change |", "|---|---|---|---|",
            "| parameters (denoiser) | \(count(original.parameters)) | \(count(pruned.parameters)) | \(change(Double(original.parameters), Double(pruned.parameters))) |",
            "| attention heads | \(count(original.heads)) | \(count(pruned.heads)) | \(change(Double(original.heads), Double(pruned.heads))) |",
            "| FFN neurons | \(count(original.neurons)) | \(count(pruned.neurons)) | \(change(Double(original.neurons), Double(pruned.neurons))) |",
            String(format: "| denoiser GFLOPs per image (GEMM, all steps) | %.3f | %.3f | %@ |", original.gigaflopsPerImage, pruned.gigaflopsPerImage,
                   change(original.gigaflopsPerImage, pruned.gigaflopsPerImage)),
            String(format: "| s per image, denoising (median of %d) | %.3f | %.3f | %@ |", images.count, original.denoisingSecondsPerImage,
                   pruned.denoisingSecondsPerImage, change(original.denoisingSecondsPerImage, pruned.denoisingSecondsPerImage)),
            String(format: "| s per image, with VAE decoding (median of %d) | %.3f | %.3f | %@ |", images.count, original.secondsPerImage,
                   pruned.secondsPerImage, change(original.secondsPerImage, pruned.secondsPerImage)),
            "",
            "Fidelity of the pruned pipeline's images to the original's from the same noise: mean PSNR \(decibels(meanPSNR)), "
                + String(format: "mean SSIM %.4f.", meanSSIM),
            "",
            "## Pictures", "",
            "- `comparison.png`: each row one prompt and noise — original (left), pruned (right), with the pair's PSNR and SSIM.",
            "- `original.png`, `pruned.png`: the same images, one grid per model, in the table's order.",
        ]
        if !loss.isEmpty { lines.append("- `loss.png`: EcoDiff's loss per iteration (total and reconstruction, log scale).") }
        lines += ["", "![original vs pruned](comparison.png)", "", "| # | prompt | noise seed | PSNR | SSIM |", "|---|---|---|---|---|"]
        for (index, image) in images.enumerated() {
            let prompt = image.prompt.replacingOccurrences(of: "|", with: "\\|")
            lines.append("| \(index + 1) | \(prompt) | \(image.noiseSeed) | \(decibels(image.psnr)) | " + String(format: "%.4f |", image.ssim))
        }
        lines.append("")
        if let first = loss.first, let last = loss.last {
            lines += [
                "## Loss", "", "![loss](loss.png)", "",
                String(format: "Loss %.4g → %.4g (reconstruction %.4g → %.4g) over %d iterations; units with λ > 0: %.1f %% → %.1f %%.",
                       first.total, last.total, first.reconstruction, last.reconstruction, loss.count, first.kept * 100, last.kept * 100), "",
            ]
        }
        lines += ["## Kept units per module", ""] + PlanRow.markdownTable(modules)
        return lines.joined(separator: "\n") + "\n"
    }
}
