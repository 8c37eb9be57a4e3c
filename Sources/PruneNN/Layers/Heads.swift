import PruneTensor

/// Reshaping between token-major projections and per-head views, and head masking.
public enum Heads {
    /// `[B, L, H·D]` → `[B, H, L, D]` (a view).
    public static func split(_ x: Tensor, heads: Int) -> Tensor {
        let (batch, length, width) = (x.shape[0], x.shape[1], x.shape[2])
        return x.reshaped([batch, length, heads, width / max(heads, 1)]).permuted([0, 2, 1, 3])
    }

    /// `[B, H, L, D]` → `[B, L, H·D]` (free for the output of `scaledDotProductAttention`).
    public static func merge(_ x: Tensor) -> Tensor {
        let (batch, heads, length, depth) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        return x.permuted([0, 2, 1, 3]).reshaped([batch, length, heads * depth])
    }

    /// Multiplies each head's slice of `[B, L, H·D]` by its mask value `m[h]` (`mask`: `[H]`).
    public static func masked(_ x: Tensor, by mask: Tensor?, heads: Int) -> Tensor {
        guard let mask else { return x }
        precondition(mask.shape == [heads], "head mask must be [\(heads)], got \(mask.shape)")
        let (batch, length, width) = (x.shape[0], x.shape[1], x.shape[2])
        return (x.reshaped([batch, length, heads, width / max(heads, 1)]) * mask.reshaped([heads, 1]))
            .reshaped([batch, length, width])
    }
}
