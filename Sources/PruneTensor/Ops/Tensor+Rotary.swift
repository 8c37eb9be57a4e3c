// FLUX-style rotary position embedding on interleaved pairs.

/// Rotates interleaved pairs `(x₂ᵢ, x₂ᵢ₊₁)` of the last axis as diffusers'
/// `apply_rotary_emb(x, (cos, sin), use_real=True, use_real_unbind_dim=-1)`:
/// `out = x · cos + rotate(x) · sin` with `rotate(x)₂ᵢ = −x₂ᵢ₊₁`, `rotate(x)₂ᵢ₊₁ = x₂ᵢ`.
///
/// - Parameters:
///   - input: `[B, H, L, D]` with even `D`.
///   - cos, sin: `[L, D]`, each frequency repeated for both members of its pair. Treated as constants.
/// - Returns: `[B, H, L, D]`.
public func applyRotaryEmbedding(_ input: Tensor, cos: Tensor, sin: Tensor) -> Tensor {
    precondition(input.rank == 4, "rotary embedding needs [B, H, L, D], got \(input.shape)")
    let (length, depth) = (input.shape[2], input.shape[3])
    precondition(depth % 2 == 0, "rotary embedding needs an even head dimension, got \(depth)")
    precondition(cos.shape == [length, depth] && sin.shape == [length, depth], "rotary cos/sin must be [\(length), \(depth)]")
    let result = Kernels.rotate(input, cos: cos, sin: sin, inverse: false)
    return Tensor.recorded(result, from: [input], .rotaryEmbedding(input, cos: cos, sin: sin))
}

extension Kernels {
    /// The rotation (or, with `inverse`, its transpose — the backward map) applied to every head.
    static func rotate(_ input: Tensor, cos: Tensor, sin: Tensor, inverse: Bool) -> Tensor {
        let (length, depth) = (input.shape[2], input.shape[3])
        let xContiguous = input.contiguousWithoutRecording()
        defer { withExtendedLifetime(xContiguous) {} }  // `x` points into it
        let x = xContiguous.basePointer
        let cContiguous = cos.contiguousWithoutRecording()
        defer { withExtendedLifetime(cContiguous) {} }  // `c` points into it
        let c = cContiguous.basePointer
        let sContiguous = sin.contiguousWithoutRecording()
        defer { withExtendedLifetime(sContiguous) {} }  // `s` points into it
        let s = sContiguous.basePointer
        let result = Tensor(storage: Storage(uninitializedCount: input.count), shape: input.shape)
        let y = result.basePointer
        let rows = input.count / depth
        ComputeThreads.parallelFor(rows, grain: Swift.max(1, 8192 / depth)) { range in
            for row in range {
                let position = row % length
                let (cr, sr) = (c + position * depth, s + position * depth)
                let (xr, yr) = (x + row * depth, y + row * depth)
                var i = 0
                while i < depth {
                    let (a, b) = (xr[i], xr[i + 1])
                    if inverse {
                        // Transpose of [[c0, -s0], [s1, c1]] applied to (a, b).
                        yr[i] = a * cr[i] + b * sr[i + 1]
                        yr[i + 1] = b * cr[i + 1] - a * sr[i]
                    } else {
                        yr[i] = a * cr[i] - b * sr[i]
                        yr[i + 1] = b * cr[i + 1] + a * sr[i + 1]
                    }
                    i += 2
                }
            }
        }
        return result
    }
}
