import PruneTensor
import PruneVAE
import Testing

@Suite("VAEImageProcessor")
struct VAEImageProcessorTests {
    @Test("decoded values map to bytes as (x/2 + 0.5).clamp(0, 1) · 255, rounded, in [H, W, 3] order")
    func bytes() throws {
        // One image, 3 channels, 1×3 pixels; channel-major input.
        let image = Tensor([-1, 0, 1, /* G */ 3, -5, 0.5, /* B */ -0.2, 0.999, -0.9999], shape: [1, 3, 1, 3])
        let images = try VAEImageProcessor.rgb8Images(image)
        #expect(images.count == 1 && images[0].width == 3 && images[0].height == 1)
        // pixel 0: R −1 → 0, G 3 → 255 (clamped), B −0.2 → 0.4·255 = 102
        // pixel 1: R 0 → 127.5 → 128, G −5 → 0, B 0.999 → 254.8725 → 255
        // pixel 2: R 1 → 255, G 0.5 → 191.25 → 191, B −0.9999 → 0.01275 → 0
        #expect(images[0].bytes == [0, 255, 102, 128, 0, 255, 255, 191, 0])
    }

    @Test("a tensor that is not [B, 3, H, W] is a typed error")
    func badShape() {
        #expect(throws: VAEError.invalidInput(argument: "image", expected: "[B, 3, H, W]", actual: [1, 4, 2, 2])) {
            _ = try VAEImageProcessor.rgb8Images(Tensor.zeros([1, 4, 2, 2]))
        }
    }
}
