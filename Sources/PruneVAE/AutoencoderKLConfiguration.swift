/// The hyper-parameters of diffusers' `AutoencoderKL`, as its `config.json` records them.
///
/// Defaults are diffusers' constructor defaults (a key absent from `config.json` takes them). The values
/// of SDXL's VAE: `block_out_channels [128, 256, 512, 512]`, `layers_per_block 2`, `latent_channels 4`,
/// `norm_num_groups 32`, `sample_size 1024`, `scaling_factor 0.13025`; FLUX's: the same topology with
/// 16 latent channels, no quant convolutions, `scaling_factor 0.3611`, `shift_factor 0.1159`.
///
/// This implementation matches: diffusers `AutoencoderKL.__init__` (`models/autoencoders/autoencoder_kl.py`).
public struct AutoencoderKLConfiguration: Sendable, Equatable {
    /// Image channels read by the encoder (`in_channels`).
    public var inChannels = 3
    /// Image channels written by the decoder (`out_channels`).
    public var outChannels = 3
    /// One entry per level; only `DownEncoderBlock2D` exists for `AutoencoderKL`.
    public var downBlockTypes = ["DownEncoderBlock2D"]
    /// One entry per level; only `UpDecoderBlock2D` exists for `AutoencoderKL`.
    public var upBlockTypes = ["UpDecoderBlock2D"]
    /// Channels per level, shallowest first.
    public var blockOutChannels = [64]
    /// Resnets per encoder level (decoder levels have one more).
    public var layersPerBlock = 1
    /// Activation; only `silu` is supported.
    public var activation = "silu"
    /// Latent channels `C` (the encoder writes `2C`: mean and log-variance).
    public var latentChannels = 4
    /// GroupNorm groups of every normalization.
    public var normNumGroups = 32
    /// The training image size; sets the tile size of tiled decoding (`sample_size`; a list's first entry).
    public var sampleSize = 32
    /// Latents are `scaling_factor ·` the VAE's latent space.
    public var scalingFactor = 0.18215
    /// FLUX: latents are shifted by this before scaling; `nil` for SDXL.
    public var shiftFactor: Double?
    /// Per-channel latent statistics some VAEs record (`latents_mean`, `latents_std`); `nil` for SDXL/FLUX.
    public var latentsMean: [Double]?
    public var latentsStandardDeviation: [Double]?
    /// diffusers runs this VAE in float32 even in a half-precision pipeline; PruneVAE always does.
    public var forceUpcast = true
    /// Whether `quant_conv` (1×1, `2C → 2C`) follows the encoder.
    public var useQuantConvolution = true
    /// Whether `post_quant_conv` (1×1, `C → C`) precedes the decoder.
    public var usePostQuantConvolution = true
    /// Whether both mid blocks have their single-head attention.
    public var midBlockAddAttention = true

    public init() {}

    /// The number of levels (`len(block_out_channels)`).
    public var levels: Int { blockOutChannels.count }

    /// Image pixels per latent pixel along each axis: `2^(levels − 1)` (8 for SDXL and FLUX).
    public var downsamplingFactor: Int { 1 << max(levels - 1, 0) }

    /// Checks every value diffusers would need to build the model.
    /// - Parameter source: names the configuration in errors (a path, usually).
    /// - Throws: ``VAEError/invalidConfiguration(source:key:reason:)`` naming the first bad key.
    public func validate(source: String) throws(VAEError) {
        func fail(_ key: String, _ reason: String) -> VAEError { .invalidConfiguration(source: source, key: key, reason: reason) }
        for (key, value) in [("in_channels", inChannels), ("out_channels", outChannels), ("latent_channels", latentChannels),
                             ("layers_per_block", layersPerBlock), ("norm_num_groups", normNumGroups), ("sample_size", sampleSize)]
        where value < 1 {
            throw fail(key, "must be at least 1, found \(value)")
        }
        guard !blockOutChannels.isEmpty, blockOutChannels.count <= 8 else {
            throw fail("block_out_channels", "must list 1 to 8 levels, found \(blockOutChannels.count)")
        }
        for (level, channels) in blockOutChannels.enumerated() where channels < 1 || channels % normNumGroups != 0 {
            throw fail("block_out_channels", "entry \(level) (\(channels)) must be a positive multiple of norm_num_groups (\(normNumGroups))")
        }
        guard downBlockTypes.count == levels, downBlockTypes.allSatisfy({ $0 == "DownEncoderBlock2D" }) else {
            throw fail("down_block_types", "must be \(levels) × \"DownEncoderBlock2D\" (one per block_out_channels entry), found \(downBlockTypes)")
        }
        guard upBlockTypes.count == levels, upBlockTypes.allSatisfy({ $0 == "UpDecoderBlock2D" }) else {
            throw fail("up_block_types", "must be \(levels) × \"UpDecoderBlock2D\" (one per block_out_channels entry), found \(upBlockTypes)")
        }
        guard activation == "silu" else { throw fail("act_fn", "must be \"silu\", found \"\(activation)\"") }
        guard scalingFactor.isFinite, scalingFactor > 0 else {
            throw fail("scaling_factor", "must be a positive finite number, found \(scalingFactor)")
        }
        if let shiftFactor, !shiftFactor.isFinite { throw fail("shift_factor", "must be finite or null, found \(shiftFactor)") }
        for (key, values) in [("latents_mean", latentsMean), ("latents_std", latentsStandardDeviation)] {
            guard let values else { continue }
            guard values.count == latentChannels, values.allSatisfy(\.isFinite) else {
                throw fail(key, "must hold latent_channels (\(latentChannels)) finite numbers, found \(values.count)")
            }
        }
        if let std = latentsStandardDeviation, std.contains(0) { throw fail("latents_std", "must not contain 0") }
        if (latentsMean == nil) != (latentsStandardDeviation == nil) {
            throw fail(latentsMean == nil ? "latents_mean" : "latents_std", "must be given together with its partner or not at all")
        }
    }
}
