import PruneTensor

/// FLUX's 2×2 latent packing and the position ids that go with it (diffusers `FluxPipeline`).
///
/// A VAE latent `[B, C, h, w]` (h, w even) becomes `(h/2)·(w/2)` tokens of `4C` channels: token
/// `r·(w/2) + col` holds the 2×2 patch at rows `2r, 2r+1` and columns `2col, 2col+1`, with channel index
/// `c·4 + dy·2 + dx`.
///
/// This implementation matches: diffusers `FluxPipeline._pack_latents`, `_unpack_latents` and
/// `_prepare_latent_image_ids`.
public enum FluxLatentPacking {
    /// `[B, C, h, w]` → `[B, (h/2)·(w/2), 4C]`: `view(B, C, h/2, 2, w/2, 2)`, `permute(0, 2, 4, 1, 3, 5)`.
    public static func pack(_ latents: Tensor) -> Tensor {
        precondition(latents.rank == 4, "pack needs [B, C, h, w], got \(latents.shape)")
        let (batch, channels, height, width) = (latents.shape[0], latents.shape[1], latents.shape[2], latents.shape[3])
        precondition(height % 2 == 0 && width % 2 == 0, "pack needs an even latent height and width, got \(height)×\(width)")
        return latents.reshaped([batch, channels, height / 2, 2, width / 2, 2])
            .permuted([0, 2, 4, 1, 3, 5])
            .reshaped([batch, (height / 2) * (width / 2), channels * 4])
    }

    /// `[B, (h/2)·(w/2), 4C]` → `[B, C, h, w]`, the inverse of ``pack(_:)``.
    ///
    /// - Parameters:
    ///   - packed: `[B, N, 4C]` with `N = (h/2)·(w/2)`.
    ///   - height, width: the latent's `h` and `w` (even).
    public static func unpack(_ packed: Tensor, height: Int, width: Int) -> Tensor {
        precondition(packed.rank == 3, "unpack needs [B, N, 4C], got \(packed.shape)")
        precondition(height % 2 == 0 && width % 2 == 0, "unpack needs an even latent height and width, got \(height)×\(width)")
        let (batch, tokens, packedChannels) = (packed.shape[0], packed.shape[1], packed.shape[2])
        precondition(tokens == (height / 2) * (width / 2) && packedChannels % 4 == 0, "cannot unpack \(packed.shape) to a \(height)×\(width) latent")
        let channels = packedChannels / 4
        return packed.reshaped([batch, height / 2, width / 2, channels, 2, 2])
            .permuted([0, 3, 1, 4, 2, 5])
            .reshaped([batch, channels, height, width])
    }

    /// Image position ids `[rows·columns, 3]`: token `r·columns + col` has id `(0, r, col)`.
    ///
    /// - Parameters: rows, columns: the packed token grid, `h/2` × `w/2`.
    public static func imageIDs(rows: Int, columns: Int) -> Tensor {
        var values = [Float](repeating: 0, count: rows * columns * 3)
        for r in 0..<rows {
            for c in 0..<columns {
                values[(r * columns + c) * 3 + 1] = Float(r)
                values[(r * columns + c) * 3 + 2] = Float(c)
            }
        }
        return Tensor(values, shape: [rows * columns, 3])
    }

    /// Text position ids `[count, 3]`, all zero (text tokens are not rotated).
    public static func textIDs(count: Int) -> Tensor { Tensor.zeros([count, 3]) }
}
