import PruneTensor

/// An 8-bit RGB image: `bytes` row-major `[height, width, 3]`.
public struct RGB8Image: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `[height, width, 3]`, row-major.
    public let bytes: [UInt8]

    public init(width: Int, height: Int, bytes: [UInt8]) {
        self.width = width
        self.height = height
        self.bytes = bytes
    }
}

/// The pipelines' image postprocessing: decoded `[-1, 1]` images → `[0, 1]` → 8-bit RGB.
///
/// This implementation matches: diffusers `VaeImageProcessor.postprocess(output_type="pil")`
/// (`image_processor.py`): `denormalize` = `(x · 0.5 + 0.5).clamp(0, 1)`, `pt_to_numpy` (NCHW → NHWC), then
/// `numpy_to_pil`'s `(images · 255).round().astype("uint8")` (round half to even), per image.
public enum VAEImageProcessor {
    /// `(x / 2 + 0.5).clamp(0, 1)`, same shape.
    public static func denormalized(_ image: Tensor) -> Tensor {
        withoutGradients { (image * 0.5 + 0.5).clamped(to: 0...1) }
    }

    /// Decoded images `[B, 3, H, W]` → one ``RGB8Image`` per batch entry.
    /// - Throws: ``VAEError/invalidInput(argument:expected:actual:)`` unless the images are `[B, 3, H, W]`.
    public static func rgb8Images(_ image: Tensor) throws(VAEError) -> [RGB8Image] {
        guard image.rank == 4, image.shape[1] == 3 else {
            throw .invalidInput(argument: "image", expected: "[B, 3, H, W]", actual: image.shape)
        }
        let (batch, height, width) = (image.shape[0], image.shape[2], image.shape[3])
        let values = denormalized(image).contiguous().scalars()
        let plane = height * width
        return (0..<batch).map { b in
            var bytes = [UInt8](repeating: 0, count: plane * 3)
            for channel in 0..<3 {
                let base = (b * 3 + channel) * plane
                for pixel in 0..<plane {
                    // float32 multiply, then numpy's round (half to even); the value lies in [0, 255].
                    // A NaN (never produced by a well-formed VAE) becomes 0 rather than a trap.
                    let scaled = values[base + pixel] * 255
                    bytes[pixel * 3 + channel] = scaled.isNaN ? 0 : UInt8(scaled.rounded(.toNearestOrEven))
                }
            }
            return RGB8Image(width: width, height: height, bytes: bytes)
        }
    }
}
