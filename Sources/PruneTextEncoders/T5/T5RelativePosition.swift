import Foundation
import PruneTensor

/// T5's bucketed relative positions and the attention bias built from them.
///
/// This implementation matches: transformers `modeling_t5.py` `T5Attention._relative_position_bucket` with
/// `bidirectional=True` (the encoder) and `compute_bias`: half the buckets per direction (keys after the query in
/// the upper half), within a direction the first half exact and the rest logarithmic up to `max_distance`, the
/// logarithm taken in float32 and truncated toward zero as torch does.
public enum T5RelativePosition {
    /// The bucket of `relativePosition` (key position − query position).
    public static func bucket(_ relativePosition: Int, buckets: Int, maximumDistance: Int) -> Int {
        let perDirection = buckets / 2
        var bucket = relativePosition > 0 ? perDirection : 0
        let distance = abs(relativePosition)
        let exact = perDirection / 2
        if distance < exact { return bucket + distance }
        let ratio = logf(Float(distance) / Float(exact)) / Float(log(Double(maximumDistance) / Double(exact)))
        let large = exact + Int(ratio * Float(perDirection - exact))
        bucket += min(large, perDirection - 1)
        return bucket
    }

    /// The bias `[1, H, Lq, Lk]` for `length` tokens from `table` `[buckets, H]` (any stored element type).
    static func bias(table: Tensor, length: Int, buckets: Int, maximumDistance: Int) -> Tensor {
        let heads = table.shape[1]
        var indices: [Int] = []
        indices.reserveCapacity(length * length)
        var cache: [Int: Int] = [:]
        for query in 0..<length {
            for key in 0..<length {
                let relative = key - query
                if let known = cache[relative] {
                    indices.append(known)
                } else {
                    let value = bucket(relative, buckets: buckets, maximumDistance: maximumDistance)
                    cache[relative] = value
                    indices.append(value)
                }
            }
        }
        // [Lq·Lk, H] → [H, Lq, Lk]
        return Widening.rows(table, indices).reshaped([length, length, heads]).permuted([2, 0, 1]).contiguous()
            .reshaped([1, heads, length, length])
    }
}
