import Foundation
import PruneNN
import PruneTensor

/// diffusers' `AutoencoderKL` (the SDXL and FLUX VAE), forward only, in float32, with diffusers' checkpoint
/// keys: `encoder.*`, `quant_conv`, `post_quant_conv`, `decoder.*`.
///
/// ```swift
/// let vae = try AutoencoderKL.load(directory: "sdxl/vae")
/// let image = try vae.decode(latents / Float(vae.configuration.scalingFactor))   // [B, 3, 8h, 8w] in ≈[-1, 1]
/// let posterior = try vae.encode(image)                                           // .mode(): [B, 4, h, w]
/// ```
///
/// This implementation matches: diffusers `AutoencoderKL` (`models/autoencoders/autoencoder_kl.py`,
/// `vae.py` `Encoder`/`Decoder`/`DiagonalGaussianDistribution`, `resnet.py`, `upsampling.py`,
/// `downsampling.py`, `attention_processor.py`) in float32. Deviations: every computation is float32 even
/// when the weights are stored in 16 bits (they are widened on load, as `force_upcast` asks); no slicing
/// (`enable_slicing`) and no tiled *encoding*; tiled decoding is chosen by ``VAEDecodeMode`` rather than a
/// mutable `use_tiling` flag; forward only (no gradients are recorded).
public struct AutoencoderKL {
    public let configuration: AutoencoderKLConfiguration
    public let encoder: VAEEncoder
    public let decoder: VAEDecoder
    /// 1×1, `2C → 2C`; `nil` when `use_quant_conv` is false (FLUX).
    public let quantConvolution: Conv2d?
    /// 1×1, `C → C`; `nil` when `use_post_quant_conv` is false (FLUX).
    public let postQuantConvolution: Conv2d?
    /// The parameters, by checkpoint key.
    public let parameters: ParameterStore

    /// Builds the model from `configuration` with its weights from `tensors`.
    ///
    /// Weights stored in float16 or bfloat16 are widened to float32 on load.
    /// - Parameters:
    ///   - sourceName: names the weights in errors (a path, usually).
    /// - Throws: ``VAEError/invalidConfiguration(source:key:reason:)`` for a configuration out of range, or
    ///   ``VAEError/weightsMismatch(_:)`` listing every missing, mis-shaped (with both shapes) and unexpected key.
    public init(configuration: AutoencoderKLConfiguration, tensors: any TensorSource, sourceName: String) throws(VAEError) {
        try configuration.validate(source: sourceName)
        let store = ParameterStore(source: tensors, sourceName: sourceName)
        self.init(configuration: configuration, store: store)
        do { try store.finish() } catch { throw .weightsMismatch(error) }
    }

    /// Builds the model with seeded random weights (PyTorch's default initialisation ranges), for tests and
    /// benchmarks.
    /// - Throws: ``VAEError/invalidConfiguration(source:key:reason:)``.
    public init(configuration: AutoencoderKLConfiguration, randomSeed: UInt64) throws(VAEError) {
        try configuration.validate(source: "configuration")
        self.init(configuration: configuration, store: ParameterStore(randomSeed: randomSeed))
    }

    private init(configuration c: AutoencoderKLConfiguration, store: ParameterStore) {
        configuration = c
        parameters = store
        let root = store.root
        encoder = VAEEncoder(root.scoped("encoder"), configuration: c)
        quantConvolution = c.useQuantConvolution
            ? Conv2d(root.scoped("quant_conv"), inChannels: 2 * c.latentChannels, outChannels: 2 * c.latentChannels, kernelSize: 1)
            : nil
        postQuantConvolution = c.usePostQuantConvolution
            ? Conv2d(root.scoped("post_quant_conv"), inChannels: c.latentChannels, outChannels: c.latentChannels, kernelSize: 1)
            : nil
        decoder = VAEDecoder(root.scoped("decoder"), configuration: c)
    }

    /// Loads a diffusers model folder (`vae/`): `config.json` and `diffusion_pytorch_model[.variant].safetensors`
    /// (single or sharded; with no variant asked for, an fp16 variant is taken when the plain file is absent).
    /// - Throws: ``VAEError`` for an unreadable or invalid configuration, missing or unreadable weights, or
    ///   weights that do not match the configuration.
    public static func load(directory: String, variant: String? = nil) throws(VAEError) -> AutoencoderKL {
        let configurationPath = URL(fileURLWithPath: directory).appendingPathComponent("config.json").path
        let configuration = try AutoencoderKLConfiguration(contentsOf: configurationPath)
        guard let files = WeightFiles.find(in: directory, variant: variant) else {
            throw .unreadableWeights(path: directory, reason: "no diffusion_pytorch_model\(variant.map { ".\($0)" } ?? "").safetensors (or shard index)")
        }
        let source: SafetensorsTensorSource
        do { source = try SafetensorsTensorSource(files) } catch {
            throw .unreadableWeights(path: files.path, reason: error.description)
        }
        return try AutoencoderKL(configuration: configuration, tensors: source, sourceName: files.path)
    }

    // MARK: - Encoding

    /// Encodes images into the latent distribution (`vae.encode(x).latent_dist`).
    /// - Parameter image: `[B, in_channels, H, W]` in `[-1, 1]`, `H` and `W` multiples of
    ///   ``AutoencoderKLConfiguration/downsamplingFactor``.
    /// - Returns: the posterior over `[B, latent_channels, H/f, W/f]` latents (unscaled: multiply by
    ///   `scaling_factor` — after subtracting `shift_factor` for FLUX — to get the denoiser's latents).
    /// - Throws: ``VAEError/invalidInput(argument:expected:actual:)`` or ``VAEError/indivisibleImageSize(height:width:factor:)``.
    public func encode(_ image: Tensor) throws(VAEError) -> DiagonalGaussianDistribution {
        let c = configuration
        guard image.rank == 4, image.shape[0] > 0, image.shape[1] == c.inChannels else {
            throw .invalidInput(argument: "image", expected: "[B, \(c.inChannels), H, W]", actual: image.shape)
        }
        let (height, width) = (image.shape[2], image.shape[3])
        let factor = c.downsamplingFactor
        guard height > 0, width > 0, height % factor == 0, width % factor == 0 else {
            throw .indivisibleImageSize(height: height, width: width, factor: factor)
        }
        let moments = withoutGradients {
            let h = encoder(image)
            return quantConvolution.map { $0(h) } ?? h
        }
        return DiagonalGaussianDistribution(moments: moments)
    }

    // MARK: - Decoding

    /// Decodes VAE latents into images (`vae.decode(z).sample`), untiled or tiled as `mode` says.
    ///
    /// The latents are the VAE's own (already divided by `scaling_factor`); see ``decodeSDXLLatents(_:mode:)``
    /// and ``decodeFluxLatents(_:height:width:mode:)`` for the pipelines' scaling.
    /// - Parameters:
    ///   - latents: `[B, latent_channels, h, w]`.
    ///   - mode: ``VAEDecodeMode/automatic`` by default: untiled up to `sample_size²` output pixels, tiled above.
    /// - Returns: `[B, out_channels, f·h, f·w]`, nominally in `[-1, 1]` (not clamped).
    /// - Throws: ``VAEError/invalidInput(argument:expected:actual:)``.
    public func decode(_ latents: Tensor, mode: VAEDecodeMode = .automatic) throws(VAEError) -> Tensor {
        let c = configuration
        guard latents.rank == 4, latents.shape[0] > 0, latents.shape[1] == c.latentChannels, latents.shape[2] > 0, latents.shape[3] > 0 else {
            throw .invalidInput(argument: "latents", expected: "[B, \(c.latentChannels), h, w] with h, w > 0", actual: latents.shape)
        }
        if let tiling = try tiling(for: latents, mode: mode) {
            return withoutGradients { tiledDecode(latents, tiling: tiling) }
        }
        return withoutGradients { decodeUntiled(latents) }
    }

    /// `post_quant_conv` then the decoder, on the whole latent at once.
    func decodeUntiled(_ latents: Tensor) -> Tensor {
        decoder(postQuantConvolution.map { $0(latents) } ?? latents)
    }
}
