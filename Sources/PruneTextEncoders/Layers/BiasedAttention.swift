import PruneTensor

/// Multi-head attention with an additive score bias, composed from `matmul`, `softmax` and broadcasting adds:
/// `softmax(scale · Q Kᵀ + bias) V`.
///
/// PruneTensor's fused `scaledDotProductAttention` takes no mask; CLIP needs a causal mask and T5 a relative
/// position bias (plus an optional padding mask), so the text encoders compose the product here. The
/// `[B, H, Lq, Lk]` score tensor is materialised (77² per head for CLIP; 512² per head for FLUX's T5).
enum BiasedAttention {
    /// - Parameters:
    ///   - query: `[B, H, Lq, D]` (any view whose last two axes BLAS can address, e.g. a permuted `[B, L, H, D]`).
    ///   - key: `[B, H, Lk, D]`.
    ///   - value: `[B, H, Lk, Dv]`.
    ///   - bias: added to the scores; broadcastable to `[B, H, Lq, Lk]`, or `nil`.
    ///   - scale: multiplies `Q Kᵀ` before the bias (1 for T5).
    /// - Returns: `[B, Lq, H·Dv]`, the heads merged.
    static func callAsFunction(query: Tensor, key: Tensor, value: Tensor, bias: Tensor?, scale: Float) -> Tensor {
        var scores = matmul(query, key.transposed(-2, -1))
        if scale != 1 { scores = scores * scale }
        if let bias { scores = scores + bias }
        let attended = matmul(scores.softmax(axis: -1), value)
        let (batch, heads, length, depth) = (attended.shape[0], attended.shape[1], attended.shape[2], attended.shape[3])
        return attended.permuted([0, 2, 1, 3]).reshaped([batch, length, heads * depth])
    }

    /// The additive causal mask `[L, L]`: 0 where key ≤ query, the most negative float32 above the diagonal (what
    /// transformers adds, `torch.finfo(float32).min`).
    static func causalMask(length: Int) -> Tensor {
        var values = [Float](repeating: 0, count: length * length)
        for row in 0..<length {
            for column in (row + 1)..<length { values[row * length + column] = -Float.greatestFiniteMagnitude }
        }
        return Tensor(values, shape: [length, length])
    }

    /// The additive padding mask `[B, 1, 1, Lk]` of a 0/1 key mask: 0 where 1, the most negative float32 where 0.
    static func paddingMask(_ mask: [[Int]]) -> Tensor {
        let length = mask.first?.count ?? 0
        let values = mask.flatMap { row in row.map { $0 == 0 ? -Float.greatestFiniteMagnitude : 0 } }
        return Tensor(values, shape: [mask.count, 1, 1, length])
    }
}
