import Foundation
import PruneKit
import PruneNN
import PruneTensor

/// How close a pruned model's samples stay to its original's from the same noise.
public struct DemoFidelity: Codable, Sendable, Equatable {
    /// Mean PSNR over the images, dB (images in [0, 1]).
    public var psnr: Double
    /// Mean SSIM over the images (11 × 11 Gaussian window, per channel).
    public var ssim: Double
    /// Mean squared difference of the final latents.
    public var latentMSE: Double

    public init(psnr: Double, ssim: Double, latentMSE: Double) {
        self.psnr = psnr
        self.ssim = ssim
        self.latentMSE = latentMSE
    }

    /// The fidelity of `evaluation` to `reference` (same prompts and noise, image by image).
    public init(_ evaluation: DemoEvaluation, reference: DemoEvaluation) {
        precondition(evaluation.prompts == reference.prompts, "fidelity compares the same prompts")
        let side = DemoArchitecture.imageSize
        let (psnr, ssim) = ImageMetrics.compare(
            evaluation.images.scalars(), reference.images.scalars(), count: evaluation.prompts.count, height: side, width: side)
        self.init(psnr: psnr, ssim: ssim, latentMSE: ImageMetrics.meanSquaredError(evaluation.latents.scalars(), reference.latents.scalars()))
    }

    enum CodingKeys: String, CodingKey { case psnr, ssim, latentMSE = "latent_mse" }
}

/// Size, cost and quality of one demo model, measured.
public struct DemoModelFigures: Codable, Sendable, Equatable {
    /// Denoiser parameters.
    public var parameters: Int
    public var heads: Int
    public var neurons: Int
    /// GEMM floating-point operations of generating one image (every step, guidance included), ×10⁹.
    public var gigaflopsPerImage: Double
    /// Median wall time of generating one image alone (batch 1, every step), milliseconds.
    public var millisecondsPerImage: Double
    public var adherence: AdherenceReport

    public init(parameters: Int, heads: Int, neurons: Int, gigaflopsPerImage: Double, millisecondsPerImage: Double, adherence: AdherenceReport) {
        self.parameters = parameters
        self.heads = heads
        self.neurons = neurons
        self.gigaflopsPerImage = gigaflopsPerImage
        self.millisecondsPerImage = millisecondsPerImage
        self.adherence = adherence
    }

    enum CodingKeys: String, CodingKey {
        case parameters, heads, neurons, gigaflopsPerImage = "gigaflops_per_image"
        case millisecondsPerImage = "milliseconds_per_image", adherence
    }
}

/// Measures demo models the same way for every row of a report or comparison.
public enum DemoMeasurement {
    /// Samples `samplesPerPrompt` images per prompt with `sampling` from noise `seed` (``DemoEvaluation``),
    /// counts parameters and units, counts one single-image generation's GEMM operations (the counter is
    /// process-wide: measure one workload at a time) and times it (`latencyRuns` runs, median, after one
    /// warm-up).
    /// - Throws: sampling errors.
    public static func measure(
        _ model: DemoModel, sampling: DemoSamplingSettings, samplesPerPrompt: Int, seed: UInt64, latencyRuns: Int = 7
    ) throws -> (figures: DemoModelFigures, evaluation: DemoEvaluation) {
        let evaluation = try DemoEvaluation(model: model, sampling: sampling, samplesPerPrompt: samplesPerPrompt, seed: seed)
        let prunable = DemoPrunableModel(model, sampling: sampling)
        let accounting = prunable.accounting
        let sampler = DemoSampler(model: model, settings: sampling)
        let operations = try OperationCounter.counting { _ = try sampler.sample(prompts: [ShapePrompt.all[0].text], seed: seed, noiseIndices: [0]) }
            .operations
        let figures = DemoModelFigures(
            parameters: model.parameterCounts.denoiser, heads: accounting.heads, neurons: accounting.ffnNeurons,
            gigaflopsPerImage: Double(operations) / 1e9,
            millisecondsPerImage: try latencies([model], sampling: sampling, seed: seed, runs: latencyRuns)[0], adherence: evaluation.report)
        return (figures, evaluation)
    }

    /// The median wall time of generating one image alone (batch 1, every step) with each model, in
    /// milliseconds, timed call by call in turn (model 0, model 1, …, model 0, …) after one warm-up each, so
    /// that whatever else the machine does falls on all of them alike.
    /// - Throws: sampling errors.
    public static func latencies(_ models: [DemoModel], sampling: DemoSamplingSettings, seed: UInt64, runs: Int = 7) throws -> [Double] {
        let prompt = [ShapePrompt.all[0].text]
        let samplers = models.map { DemoSampler(model: $0, settings: sampling) }
        for sampler in samplers { _ = try sampler.sample(prompts: prompt, seed: seed, noiseIndices: [0]) }
        var times = [[Double]](repeating: [], count: models.count)
        for _ in 0..<max(runs, 1) {
            for (index, sampler) in samplers.enumerated() {
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try sampler.sample(prompts: prompt, seed: seed, noiseIndices: [0])
                times[index].append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
        }
        return times.map { $0.sorted()[$0.count / 2] }
    }

    /// Original and pruned images interleaved (`[2N, 3, h, w]`: original 0, pruned 0, original 1, …) for a grid
    /// of side-by-side pairs.
    public static func interleaved(_ original: Tensor, _ pruned: Tensor) -> Tensor {
        precondition(original.shape == pruned.shape, "pairs need equal image batches")
        let count = original.shape[0]
        var parts: [Tensor] = []
        for index in 0..<count {
            parts.append(original.sliced(axis: 0, index..<(index + 1)))
            parts.append(pruned.sliced(axis: 0, index..<(index + 1)))
        }
        return concatenate(parts, axis: 0).contiguous()
    }
}
