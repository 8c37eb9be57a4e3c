import PruneTensor

/// How ``AutoencoderKL/decode(_:mode:)`` bounds its memory.
///
/// Untiled decoding holds the whole image's activations at once; the largest single buffer is the im2col
/// matrix of the widest full-resolution convolution (`C·9·H·W` floats: for SDXL's VAE at 1024×1024,
/// `up_blocks.3.resnets.0.conv1` with 256 input channels, about 9.4 GB) plus the mid attention's
/// `(H·W/64)²` scores. Tiled decoding caps both at one tile's worth, at the price of visible tile blending
/// (its output differs from the untiled one).
public enum VAEDecodeMode: Sendable, Equatable {
    /// Always the whole latent at once (diffusers' default, `use_tiling = False`).
    case untiled
    /// diffusers' tiled decode (`enable_tiling()`), used when the latent is larger than one tile.
    case tiled(VAETiling)
    /// Untiled while the output has at most `pixelBudget` pixels (`H · W`; 0 or less means `sample_size²`),
    /// tiled with `tiling` above (`nil`: diffusers' tiles, ``VAETiling/init(configuration:)``).
    case budget(pixelBudget: Int, tiling: VAETiling?)

    /// The default: untiled up to `sample_size²` output pixels (one tile's area, 1024² for SDXL and FLUX:
    /// tiling cannot lower the peak below one tile's decode), diffusers' tiles above.
    public static let automatic = VAEDecodeMode.budget(pixelBudget: 0, tiling: nil)
}

/// The tile geometry of diffusers' tiled decode.
///
/// This implementation matches: diffusers `AutoencoderKL.tiled_decode` (`autoencoder_kl.py`):
/// `tile_sample_min_size = sample_size`, `tile_latent_min_size = sample_size / 2^(levels−1)`, tiles start
/// every `⌊tile_latent_min_size · (1 − overlap)⌋` latent pixels, each decoded tile is blended linearly into
/// its upper and left neighbours over `⌊tile_sample_min_size · overlap⌋` pixels and cropped to
/// `tile_sample_min_size − blend` pixels.
public struct VAETiling: Sendable, Equatable {
    /// Decoded tile size in pixels (`tile_sample_min_size`).
    public var sampleTileSize: Int
    /// Latent tile size (`tile_latent_min_size`).
    public var latentTileSize: Int
    /// The overlapping fraction of a tile (`tile_overlap_factor`, 0.25).
    public var overlapFactor: Double

    /// diffusers' tiles for `configuration`: `sample_size` pixels, overlap 0.25.
    public init(configuration: AutoencoderKLConfiguration) {
        self.init(sampleTileSize: configuration.sampleSize, configuration: configuration)
    }

    /// Tiles of `sampleTileSize` pixels (as setting diffusers' `vae.tile_sample_min_size` and
    /// `tile_latent_min_size` together), overlap `overlapFactor`.
    public init(sampleTileSize: Int, configuration: AutoencoderKLConfiguration, overlapFactor: Double = 0.25) {
        self.sampleTileSize = sampleTileSize
        latentTileSize = Int(Double(sampleTileSize) / Double(configuration.downsamplingFactor))
        self.overlapFactor = overlapFactor
    }

    /// Latent pixels between tile starts.
    var stride: Int { Int(Double(latentTileSize) * (1 - overlapFactor)) }
    /// Decoded pixels blended between neighbours.
    var blendExtent: Int { Int(Double(sampleTileSize) * overlapFactor) }
    /// Decoded pixels kept per tile.
    var rowLimit: Int { sampleTileSize - blendExtent }
}

extension AutoencoderKL {
    /// The tiling `mode` asks for on `latents`, or `nil` for an untiled decode.
    func tiling(for latents: Tensor, mode: VAEDecodeMode) throws(VAEError) -> VAETiling? {
        let chosen: VAETiling
        switch mode {
        case .untiled:
            return nil
        case .tiled(let tiling):
            chosen = tiling
        case .budget(let pixelBudget, let tiling):
            chosen = tiling ?? VAETiling(configuration: configuration)
            let factor = configuration.downsamplingFactor
            let budget = pixelBudget > 0 ? pixelBudget : configuration.sampleSize * configuration.sampleSize
            if latents.shape[2] * factor * latents.shape[3] * factor <= budget { return nil }
        }
        guard chosen.latentTileSize >= 1, chosen.stride >= 1, chosen.overlapFactor >= 0, chosen.overlapFactor < 1,
              chosen.rowLimit >= 1
        else {
            throw .invalidInput(
                argument: "tiling", expected: "a tile of at least \(2 * configuration.downsamplingFactor) pixels and an overlap in [0, 1)",
                actual: [chosen.sampleTileSize])
        }
        // diffusers' `_decode` tiles only a latent larger than one tile.
        guard latents.shape[2] > chosen.latentTileSize || latents.shape[3] > chosen.latentTileSize else { return nil }
        return chosen
    }

    /// diffusers' `tiled_decode`: decodes overlapping latent tiles one at a time, blends each into its
    /// already-blended upper and left neighbours, crops and concatenates. Only two rows of decoded tiles
    /// are alive at a time.
    /// - Parameter latents: `[B, C, h, w]`. Returns `[B, out_channels, f·h, f·w]`.
    func tiledDecode(_ latents: Tensor, tiling: VAETiling) -> Tensor {
        let (height, width) = (latents.shape[2], latents.shape[3])
        let size = tiling.latentTileSize
        let blend = tiling.blendExtent
        let limit = tiling.rowLimit
        var previousRow: [DecodedTile] = []
        var rows: [Tensor] = []
        for top in stride(from: 0, to: height, by: tiling.stride) {
            var row: [DecodedTile] = []
            for left in stride(from: 0, to: width, by: tiling.stride) {
                let tile = latents.sliced(axis: 2, top..<min(top + size, height)).sliced(axis: 3, left..<min(left + size, width))
                var decoded = DecodedTile(decodeUntiled(tile))
                if let above = previousRow.isEmpty ? nil : previousRow[row.count] { decoded.blendVertically(from: above, extent: blend) }
                if let leftTile = row.last { decoded.blendHorizontally(from: leftTile, extent: blend) }
                row.append(decoded)
            }
            rows.append(concatenate(row.map { $0.cropped(height: limit, width: limit) }, axis: 3))
            previousRow = row
        }
        return concatenate(rows, axis: 2)
    }
}

/// One decoded tile `[B, C, H, W]` as mutable floats, for diffusers' in-place edge blending.
struct DecodedTile {
    var values: [Float]
    let shape: [Int]

    init(_ tensor: Tensor) {
        values = tensor.contiguous().scalars()
        shape = tensor.shape
    }

    private var planes: Int { shape[0] * shape[1] }
    private var height: Int { shape[2] }
    private var width: Int { shape[3] }

    /// `blend_v`: the first `e` rows become `above[last e rows]·(1 − y/e) + self·(y/e)`, `e = min(extent, both heights)`.
    mutating func blendVertically(from above: DecodedTile, extent: Int) {
        let e = min(extent, above.height, height)
        guard e > 0 else { return }
        for y in 0..<e {
            let (keep, take) = Self.weights(y, e)
            let sourceRow = above.height - e + y
            for p in 0..<planes {
                let target = (p * height + y) * width
                let source = (p * above.height + sourceRow) * above.width
                for x in 0..<width { values[target + x] = above.values[source + x] * keep + values[target + x] * take }
            }
        }
    }

    /// `blend_h`: the first `e` columns become `left[last e columns]·(1 − x/e) + self·(x/e)`.
    mutating func blendHorizontally(from left: DecodedTile, extent: Int) {
        let e = min(extent, left.width, width)
        guard e > 0 else { return }
        for x in 0..<e {
            let (keep, take) = Self.weights(x, e)
            let sourceColumn = left.width - e + x
            for p in 0..<planes {
                for y in 0..<height {
                    let target = (p * height + y) * width + x
                    values[target] = left.values[(p * left.height + y) * left.width + sourceColumn] * keep + values[target] * take
                }
            }
        }
    }

    /// The neighbour's and this tile's weights at offset `i` of `e`, computed in double and rounded to float as
    /// torch multiplies a float32 tensor by a Python float.
    private static func weights(_ i: Int, _ e: Int) -> (Float, Float) {
        let t = Double(i) / Double(e)
        return (Float(1 - t), Float(t))
    }

    /// `tile[:, :, :height, :width]` as a tensor.
    func cropped(height h: Int, width w: Int) -> Tensor {
        Tensor(values, shape: shape).sliced(axis: 2, 0..<min(h, height)).sliced(axis: 3, 0..<min(w, width))
    }
}
