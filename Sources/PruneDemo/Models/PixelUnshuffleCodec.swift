import PruneTensor

/// The demo models' "VAE": an exact, invertible, parameter-free map between images and latents.
///
/// Encoding rescales an image from [0, 1] to [−1, 1] and folds every 2 × 2 pixel block into channels
/// (`torch.nn.functional.pixel_unshuffle(x, 2)`): `[B, 3, 32, 32]` → `[B, 12, 16, 16]`, channel
/// `c·4 + dy·2 + dx`. Decoding is the exact inverse. It plays the role of SDXL's and FLUX's learned
/// autoencoders (a spatially 2× smaller latent with more channels) at zero cost and with no
/// reconstruction error, so the denoisers' quality is measured on its own; the latent is 4× cheaper for
/// the U-Net than pixel space, and FLUX's own 2 × 2 packing then makes 64 tokens of 48 channels.
///
/// This implementation matches: PyTorch `pixel_unshuffle` / `pixel_shuffle` with factor 2.
public enum PixelUnshuffleCodec {
    /// Spatial reduction factor.
    public static let factor = 2
    /// Latent channels for RGB images.
    public static let latentChannels = 3 * factor * factor

    /// `[B, 3, H, W]` in [0, 1] → `[B, 12, H/2, W/2]` in [−1, 1].
    public static func encode(_ images: Tensor) -> Tensor {
        precondition(images.rank == 4 && images.shape[1] == 3, "encode needs [B, 3, H, W] images, got \(images.shape)")
        let (batch, height, width) = (images.shape[0], images.shape[2], images.shape[3])
        precondition(height % factor == 0 && width % factor == 0, "image size must be even, got \(height)×\(width)")
        let scaled = images * 2 - 1
        return scaled.reshaped([batch, 3, height / factor, factor, width / factor, factor])
            .permuted([0, 1, 3, 5, 2, 4])
            .reshaped([batch, latentChannels, height / factor, width / factor])
    }

    /// `[B, 12, h, w]` → `[B, 3, 2h, 2w]` images, mapped from [−1, 1] to [0, 1] and clamped there.
    public static func decode(_ latents: Tensor) -> Tensor {
        precondition(latents.rank == 4 && latents.shape[1] == latentChannels, "decode needs [B, 12, h, w] latents, got \(latents.shape)")
        let (batch, height, width) = (latents.shape[0], latents.shape[2], latents.shape[3])
        let images = latents.reshaped([batch, 3, factor, factor, height, width])
            .permuted([0, 1, 4, 2, 5, 3])
            .reshaped([batch, 3, height * factor, width * factor])
        return ((images + 1) * 0.5).clamped(to: 0...1)
    }
}
