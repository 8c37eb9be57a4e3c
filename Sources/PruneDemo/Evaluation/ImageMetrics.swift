import Foundation

/// Fidelity of a pruned model's images (or latents) to the original model's from the same noise.
///
/// - PSNR: `10·log10(1 / MSE)` for images in [0, 1] (peak 1); `+∞` for identical images.
/// - SSIM: Wang et al. (2004) with the standard constants: an 11 × 11 Gaussian window of σ = 1.5
///   (normalised to sum 1), `C1 = (0.01·L)²`, `C2 = (0.03·L)²` with `L = 1`, computed per channel over the
///   'valid' window positions (no padding; 22 × 22 positions on a 32 × 32 image) and averaged over positions
///   and channels. 1 for identical images.
/// - Latent MSE: the mean squared difference of two latent tensors.
///
/// This implementation matches: Wang, Bovik, Sheikh, Simoncelli, "Image Quality Assessment: From Error
/// Visibility to Structural Similarity" (IEEE TIP 2004), the reference `ssim_index.m` ('valid' filtering).
public enum ImageMetrics {
    /// SSIM's Gaussian window side.
    public static let windowSize = 11
    /// SSIM's Gaussian window σ.
    public static let windowSigma: Double = 1.5
    /// SSIM's stabilising constants for a dynamic range of 1.
    public static let c1: Double = 0.01 * 0.01
    public static let c2: Double = 0.03 * 0.03

    /// The mean squared difference of two equally long arrays.
    public static func meanSquaredError(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count && !a.isEmpty, "MSE needs two non-empty arrays of equal length, got \(a.count) and \(b.count)")
        var sum = 0.0
        for i in a.indices {
            let d = Double(a[i]) - Double(b[i])
            sum += d * d
        }
        return sum / Double(a.count)
    }

    /// PSNR in dB of two images (or image sets) in [0, 1]; `+∞` when they are identical.
    public static func psnr(_ a: [Float], _ b: [Float]) -> Double {
        let mse = meanSquaredError(a, b)
        return mse == 0 ? .infinity : 10 * Foundation.log10(1 / mse)
    }

    /// The normalised 11 × 11 Gaussian window, row-major.
    static let window: [Double] = {
        let half = windowSize / 2
        var values: [Double] = []
        for y in -half...half {
            for x in -half...half { values.append(Foundation.exp(-Double(x * x + y * y) / (2 * windowSigma * windowSigma))) }
        }
        let total = values.reduce(0, +)
        return values.map { $0 / total }
    }()

    /// Mean SSIM of two `[3, height, width]` images in [0, 1] (channel-major).
    public static func ssim(_ a: [Float], _ b: [Float], height: Int, width: Int, channels: Int = 3) -> Double {
        precondition(a.count == channels * height * width && b.count == a.count, "SSIM needs two [\(channels), \(height), \(width)] images")
        precondition(height >= windowSize && width >= windowSize, "SSIM needs images of at least \(windowSize)×\(windowSize)")
        let (rows, columns) = (height - windowSize + 1, width - windowSize + 1)
        var total = 0.0
        for channel in 0..<channels {
            let base = channel * height * width
            for y in 0..<rows {
                for x in 0..<columns {
                    var (meanA, meanB, squareA, squareB, product) = (0.0, 0.0, 0.0, 0.0, 0.0)
                    for wy in 0..<windowSize {
                        for wx in 0..<windowSize {
                            let weight = window[wy * windowSize + wx]
                            let index = base + (y + wy) * width + x + wx
                            let (va, vb) = (Double(a[index]), Double(b[index]))
                            meanA += weight * va
                            meanB += weight * vb
                            squareA += weight * va * va
                            squareB += weight * vb * vb
                            product += weight * va * vb
                        }
                    }
                    let varianceA = squareA - meanA * meanA
                    let varianceB = squareB - meanB * meanB
                    let covariance = product - meanA * meanB
                    total += ((2 * meanA * meanB + c1) * (2 * covariance + c2))
                        / ((meanA * meanA + meanB * meanB + c1) * (varianceA + varianceB + c2))
                }
            }
        }
        return total / Double(channels * rows * columns)
    }

    /// PSNR and SSIM averaged over a batch of image pairs (`[N, 3, h, w]` values each), and the PSNR of the
    /// whole batch's MSE.
    public static func compare(_ a: [Float], _ b: [Float], count: Int, height: Int, width: Int) -> (psnr: Double, ssim: Double) {
        let stride = 3 * height * width
        precondition(a.count == count * stride && b.count == a.count, "compare needs two [\(count), 3, \(height), \(width)] batches")
        var ssimTotal = 0.0
        for index in 0..<count {
            let range = (index * stride)..<((index + 1) * stride)
            ssimTotal += ssim(Array(a[range]), Array(b[range]), height: height, width: width)
        }
        return (psnr(a, b), ssimTotal / Double(Swift.max(count, 1)))
    }
}
