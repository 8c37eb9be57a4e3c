import PruneTensor
import Testing

@testable import PruneDemo

@Suite("Pixel-unshuffle latent codec")
struct PixelUnshuffleCodecTests {
    @Test("channel c·4 + dy·2 + dx of latent (y, x) is pixel (2y + dy, 2x + dx) of channel c, rescaled to [−1, 1]")
    func layout() {
        let images = Tensor.randomUniform([2, 3, 8, 6], seed: 4)
        let latents = PixelUnshuffleCodec.encode(images).contiguous()
        #expect(latents.shape == [2, 12, 4, 3])
        let (x, z) = (images.scalars(), latents.scalars())
        for b in 0..<2 {
            for c in 0..<3 {
                for dy in 0..<2 {
                    for dx in 0..<2 {
                        for y in 0..<4 {
                            for col in 0..<3 {
                                let pixel = x[((b * 3 + c) * 8 + 2 * y + dy) * 6 + 2 * col + dx]
                                let latent = z[((b * 12 + c * 4 + dy * 2 + dx) * 4 + y) * 3 + col]
                                #expect(abs(latent - (2 * pixel - 1)) < 1e-6)
                            }
                        }
                    }
                }
            }
        }
    }

    @Test("decoding inverts encoding")
    func roundTrip() {
        let (_, images) = ShapesDataset(seed: 2).batch(0..<4)
        let decoded = PixelUnshuffleCodec.decode(PixelUnshuffleCodec.encode(images))
        #expect(decoded.shape == images.shape)
        #expect(zip(decoded.scalars(), images.scalars()).allSatisfy { abs($0 - $1) < 1e-6 })
    }
}
