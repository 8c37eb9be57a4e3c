import Foundation
import Testing

@testable import PruneDemo

@Suite("Image metrics")
struct ImageMetricsTests {
    let size = 32

    func image(_ value: (Int) -> Float) -> [Float] { (0..<(3 * size * size)).map(value) }

    @Test("identical images have infinite PSNR, SSIM 1 and zero latent MSE")
    func identical() {
        let a = image { Float(($0 * 37) % 101) / 100 }
        #expect(ImageMetrics.psnr(a, a) == .infinity)
        #expect(abs(ImageMetrics.ssim(a, a, height: size, width: size) - 1) < 1e-12)
        #expect(ImageMetrics.meanSquaredError(a, a) == 0)
    }

    @Test("an error of ±0.1 everywhere is exactly 20 dB, ±0.01 is 40 dB")
    func knownNoise() {
        let a = image { _ in 0.5 }
        let b = image { $0 % 2 == 0 ? 0.6 : 0.4 }
        #expect(abs(ImageMetrics.psnr(a, b) - 20) < 1e-5)
        let c = image { $0 % 3 == 0 ? 0.51 : 0.49 }
        #expect(abs(ImageMetrics.psnr(a, c) - 40) < 1e-3)
        #expect(abs(ImageMetrics.meanSquaredError(a, b) - 0.01) < 1e-8)
    }

    @Test("SSIM of two flat images is the luminance term (2μaμb + C1)/(μa² + μb² + C1)")
    func flatImages() {
        let a = image { _ in 0.2 }
        let b = image { _ in 0.6 }
        let (ma, mb, c1) = (0.2, 0.6, 0.0001)
        let expected = (2 * ma * mb + c1) / (ma * ma + mb * mb + c1)
        #expect(abs(ImageMetrics.ssim(a, b, height: size, width: size) - expected) < 1e-6)
    }

    @Test("SSIM of an image and its negative around 0.5 is strongly negative; of an image and a noisy copy it is in (0, 1)")
    func structure() {
        let a = image { Float(($0 * 7919) % 1000) / 1000 }
        let negative = a.map { 1 - $0 }
        #expect(ImageMetrics.ssim(a, negative, height: size, width: size) < -0.9)
        let noisy = a.enumerated().map { $0.offset % 5 == 0 ? Swift.min($0.element + 0.2, 1) : $0.element }
        let value = ImageMetrics.ssim(a, noisy, height: size, width: size)
        #expect(value > 0.5 && value < 1)
    }

    @Test("the Gaussian window sums to 1 and is symmetric")
    func window() {
        let w = ImageMetrics.window
        #expect(w.count == 121)
        #expect(abs(w.reduce(0, +) - 1) < 1e-12)
        #expect(w[0] == w[120] && w[5] == w[115] && w[60] == w.max())
    }
}
