import PruneNN
import PruneTensor

/// The last step of the SDXL and FLUX pipelines: denoiser latents → VAE latents → image.
///
/// This implementation matches: diffusers `StableDiffusionXLPipeline.__call__` (`latents / scaling_factor`,
/// or `latents · latents_std / scaling_factor + latents_mean` when the VAE records both statistics, then
/// `vae.decode`) and `FluxPipeline.__call__` (`_unpack_latents(latents, height, width, vae_scale_factor)`,
/// then `latents / scaling_factor + shift_factor`, then `vae.decode`).
extension AutoencoderKL {
    /// SDXL: the denoiser's latents `[B, C, h, w]` → image `[B, out_channels, f·h, f·w]` in ≈`[-1, 1]`.
    /// - Throws: ``VAEError/invalidInput(argument:expected:actual:)``.
    public func decodeSDXLLatents(_ latents: Tensor, mode: VAEDecodeMode = .automatic) throws(VAEError) -> Tensor {
        try decode(try unscaledSDXLLatents(latents), mode: mode)
    }

    /// SDXL's unscaling alone: `latents / scaling_factor` (or with `latents_mean`/`latents_std`).
    /// - Throws: ``VAEError/invalidInput(argument:expected:actual:)`` when `latents` is not `[B, C, h, w]`.
    public func unscaledSDXLLatents(_ latents: Tensor) throws(VAEError) -> Tensor {
        let c = configuration
        guard latents.rank == 4, latents.shape[1] == c.latentChannels else {
            throw .invalidInput(argument: "latents", expected: "[B, \(c.latentChannels), h, w]", actual: latents.shape)
        }
        let scale = Float(c.scalingFactor)
        return withoutGradients {
            if let mean = c.latentsMean, let std = c.latentsStandardDeviation {
                let channelMean = Tensor(mean.map { Float($0) }, shape: [1, mean.count, 1, 1])
                let channelStd = Tensor(std.map { Float($0) }, shape: [1, std.count, 1, 1])
                return latents * channelStd / scale + channelMean
            }
            return latents / scale
        }
    }

    /// FLUX: packed latents `[B, (h/2)·(w/2), 4C]` for a `height × width` image → image
    /// `[B, out_channels, f·h, f·w]` in ≈`[-1, 1]`, with `h = 2·⌊height / 2f⌋` (diffusers' `_unpack_latents`).
    /// - Throws: ``VAEError/packedLatentsMismatch(shape:height:width:expectedTokens:)``.
    public func decodeFluxLatents(_ packed: Tensor, height: Int, width: Int, mode: VAEDecodeMode = .automatic) throws(VAEError) -> Tensor {
        try decode(try unscaledFluxLatents(packed, height: height, width: width), mode: mode)
    }

    /// FLUX's unpacking and unscaling alone: `unpack(packed) / scaling_factor + shift_factor` → `[B, C, h, w]`.
    /// - Throws: ``VAEError/packedLatentsMismatch(shape:height:width:expectedTokens:)``.
    public func unscaledFluxLatents(_ packed: Tensor, height: Int, width: Int) throws(VAEError) -> Tensor {
        let c = configuration
        let factor = c.downsamplingFactor
        let latentHeight = 2 * (max(height, 0) / (factor * 2))
        let latentWidth = 2 * (max(width, 0) / (factor * 2))
        let tokens = (latentHeight / 2) * (latentWidth / 2)
        guard packed.rank == 3, tokens > 0, packed.shape[1] == tokens, packed.shape[2] == 4 * c.latentChannels else {
            throw .packedLatentsMismatch(shape: packed.shape, height: height, width: width, expectedTokens: tokens)
        }
        let scale = Float(c.scalingFactor)
        let shift = Float(c.shiftFactor ?? 0)
        return withoutGradients {
            FluxLatentPacking.unpack(packed, height: latentHeight, width: latentWidth).contiguous() / scale + shift
        }
    }
}
