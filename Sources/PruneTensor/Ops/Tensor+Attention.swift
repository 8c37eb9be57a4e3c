import Foundation

// Multi-head scaled-dot-product attention. The forward saves only each row's log-sum-exp; the backward
// recomputes the probabilities one head at a time, so memory stays O(heads · tokens) rather than
// O(heads · tokens²).

/// Scaled-dot-product attention as `torch.nn.functional.scaled_dot_product_attention` without a mask.
///
/// - Parameters:
///   - query: `[B, H, Lq, D]`; any view whose last axis is unit-stride (e.g. `[B, L, H, D]` permuted).
///   - key: `[B, H, Lk, D]`.
///   - value: `[B, H, Lk, Dv]`.
///   - scale: multiplies `q·kᵀ`; `1/sqrt(D)` by default.
/// - Returns: `[B, H, Lq, Dv]`, a view of storage laid out as `[B, Lq, H, Dv]` so that permuting back
///   to tokens-major and merging heads is free.
public func scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, scale: Float? = nil) -> Tensor {
    precondition(query.rank == 4 && key.rank == 4 && value.rank == 4, "attention needs [B, H, L, D] inputs")
    let (batch, heads, queryLength, depth) = (query.shape[0], query.shape[1], query.shape[2], query.shape[3])
    let keyLength = key.shape[2]
    let valueDepth = value.shape[3]
    precondition(key.shape == [batch, heads, keyLength, depth], "attention key \(key.shape) does not match query \(query.shape)")
    precondition(value.shape == [batch, heads, keyLength, valueDepth], "attention value \(value.shape) does not match key \(key.shape)")
    let scale = scale ?? 1 / Float(depth).squareRoot()
    let (q, k, v) = (AttentionOperand(query), AttentionOperand(key), AttentionOperand(value))
    // Output storage [B, Lq, H, Dv]; returned as the [B, H, Lq, Dv] view.
    let storage = Storage(uninitializedCount: batch * queryLength * heads * valueDepth)
    let output = Tensor(
        storage: storage,
        layout: Layout(
            shape: [batch, heads, queryLength, valueDepth],
            strides: [queryLength * heads * valueDepth, valueDepth, heads * valueDepth, 1], offset: 0))
    let logSumExp = Tensor(storage: Storage(uninitializedCount: batch * heads * queryLength), shape: [batch, heads, queryLength])
    let scores = UnsafeMutablePointer<Float>.allocate(capacity: queryLength * keyLength)
    defer { scores.deallocate() }
    let lse = logSumExp.basePointer
    for b in 0..<batch {
        for h in 0..<heads {
            // S = scale · Q Kᵀ
            Kernels.gemm(q.matrix(b, h), k.matrix(b, h, transpose: true), scores, m: queryLength, n: keyLength, k: depth, alpha: scale)
            let rowLSE = lse + (b * heads + h) * queryLength
            ComputeThreads.parallelFor(queryLength, grain: Swift.max(1, 4096 / Swift.max(keyLength, 1))) { rows in
                for row in rows {
                    rowLSE[row] = Kernels.attentionSoftmaxRow(scores + row * keyLength, count: keyLength)
                }
            }
            // O = P V, written into the [B, Lq, H, Dv] layout (row stride H·Dv).
            Kernels.gemm(
                Kernels.operand(scores, leadingDimension: keyLength), v.matrix(b, h),
                storage.floats + (b * queryLength * heads + h) * valueDepth,
                m: queryLength, n: valueDepth, k: keyLength, ldc: heads * valueDepth)
        }
    }
    return Tensor.recorded(
        output, from: [query, key, value],
        .attention(query: query, key: key, value: value, scale: scale, logSumExp: logSumExp))
}

/// A `[B, H, L, D]` attention input addressed per (batch, head) as a BLAS matrix.
struct AttentionOperand {
    let tensor: Tensor
    init(_ tensor: Tensor) {
        self.tensor = tensor.layout.strides[3] == 1 ? tensor : tensor.contiguousWithoutRecording()
    }
    func matrix(_ b: Int, _ h: Int, transpose: Bool = false) -> MatrixOperand {
        let strides = tensor.layout.strides
        let rows = tensor.shape[2]
        return MatrixOperand(
            pointer: tensor.basePointer + b * strides[0] + h * strides[1],
            leadingDimension: Swift.max(rows == 1 ? tensor.shape[3] : strides[2], 1), transpose: transpose)
    }
}

extension Kernels {
    /// Replaces `row` with its softmax in place and returns `log Σ exp(row)`, vectorised (the scalar
    /// ``softmaxRow(_:_:count:logarithmic:)`` spends most of attention's non-GEMM time in `expf`).
    @inline(__always)
    static func attentionSoftmaxRow(_ row: UnsafeMutablePointer<Float>, count: Int) -> Float {
        var maxima = SIMD8<Float>(repeating: -.infinity)
        var j = 0
        while j + 8 <= count {
            maxima = VectorMath.maximum(VectorMath.load(row + j), maxima)
            j += 8
        }
        var maximum = -Float.infinity
        for lane in 0..<8 where maxima[lane] > maximum { maximum = maxima[lane] }
        while j < count {
            if row[j] > maximum { maximum = row[j] }
            j += 1
        }
        if maximum == -.infinity { maximum = 0 }
        let total = exponentiateRow(row, count: count, shift: maximum)
        let inverse = 1 / total
        j = 0
        while j + 8 <= count {
            VectorMath.store(VectorMath.load(row + j) * inverse, row + j)
            j += 8
        }
        while j < count {
            row[j] *= inverse
            j += 1
        }
        return Foundation.log(total) + maximum
    }

    /// Replaces `row` with `exp(row − shift)` in place and returns the sum of the results.
    @inline(__always)
    @discardableResult
    static func exponentiateRow(_ row: UnsafeMutablePointer<Float>, count: Int, shift: Float) -> Float {
        var sums = SIMD8<Float>()
        var j = 0
        while j + 8 <= count {
            let e = VectorMath.exp(VectorMath.load(row + j) - shift)
            VectorMath.store(e, row + j)
            sums += e
            j += 8
        }
        if j < count {
            let e = VectorMath.exp(VectorMath.load(row + j, count: count - j) - shift)
            let valid = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7) .< Int32(count - j)
            VectorMath.store(e, row + j, count: count - j)
            sums += SIMD8<Float>().replacing(with: e, where: valid)
        }
        return sums.sum()
    }

    /// Gradients of ``scaledDotProductAttention(query:key:value:scale:)``:
    /// `P = exp(S − lse)`, `dV = Pᵀ dO`, `dP = dO Vᵀ`, `dS = P ⊙ (dP − rowsum(dO ⊙ O))`,
    /// `dQ = scale · dS K`, `dK = scale · dSᵀ Q`.
    static func attentionBackward(
        query: Tensor, key: Tensor, value: Tensor, output: Tensor, logSumExp: Tensor, scale: Float, gradient: Tensor
    ) -> (Tensor, Tensor, Tensor) {
        let (batch, heads, queryLength, depth) = (query.shape[0], query.shape[1], query.shape[2], query.shape[3])
        let keyLength = key.shape[2]
        let valueDepth = value.shape[3]
        let (q, k, v) = (AttentionOperand(query), AttentionOperand(key), AttentionOperand(value))
        let (o, dO) = (AttentionOperand(output), AttentionOperand(gradient))
        let dQ = Tensor.zeros(query.shape)
        let dK = Tensor.zeros(key.shape)
        let dV = Tensor.zeros(value.shape)
        let probabilities = UnsafeMutablePointer<Float>.allocate(capacity: queryLength * keyLength)
        let dP = UnsafeMutablePointer<Float>.allocate(capacity: queryLength * keyLength)
        let rowDot = UnsafeMutablePointer<Float>.allocate(capacity: queryLength)
        defer {
            probabilities.deallocate()
            dP.deallocate()
            rowDot.deallocate()
        }
        let lse = logSumExp.basePointer
        for b in 0..<batch {
            for h in 0..<heads {
                let head = b * heads + h
                gemm(q.matrix(b, h), k.matrix(b, h, transpose: true), probabilities, m: queryLength, n: keyLength, k: depth, alpha: scale)
                let rowLSE = lse + head * queryLength
                let outputRows = o.matrix(b, h)
                let gradientRows = dO.matrix(b, h)
                ComputeThreads.parallelFor(queryLength, grain: Swift.max(1, 4096 / Swift.max(keyLength, 1))) { rows in
                    for row in rows {
                        let p = probabilities + row * keyLength
                        let shift = rowLSE[row]
                        Kernels.exponentiateRow(p, count: keyLength, shift: shift)
                        let oRow = outputRows.pointer + row * outputRows.leadingDimension
                        let gRow = gradientRows.pointer + row * gradientRows.leadingDimension
                        var dot: Float = 0
                        for d in 0..<valueDepth { dot += oRow[d] * gRow[d] }
                        rowDot[row] = dot
                    }
                }
                // dV = Pᵀ dO
                gemm(
                    operand(probabilities, leadingDimension: keyLength, transpose: true), gradientRows,
                    dV.basePointer + head * keyLength * valueDepth, m: keyLength, n: valueDepth, k: queryLength)
                // dP = dO Vᵀ
                gemm(gradientRows, v.matrix(b, h, transpose: true), dP, m: queryLength, n: keyLength, k: valueDepth)
                // dS = P ⊙ (dP − rowDot), stored in dP.
                ComputeThreads.parallelFor(queryLength, grain: Swift.max(1, 4096 / Swift.max(keyLength, 1))) { rows in
                    for row in rows {
                        let (p, d) = (probabilities + row * keyLength, dP + row * keyLength)
                        let shift = rowDot[row]
                        for j in 0..<keyLength { d[j] = p[j] * (d[j] - shift) }
                    }
                }
                // dQ = scale · dS K ; dK = scale · dSᵀ Q
                gemm(
                    operand(dP, leadingDimension: keyLength), k.matrix(b, h),
                    dQ.basePointer + head * queryLength * depth, m: queryLength, n: depth, k: keyLength, alpha: scale)
                gemm(
                    operand(dP, leadingDimension: keyLength, transpose: true), q.matrix(b, h),
                    dK.basePointer + head * keyLength * depth, m: keyLength, n: depth, k: queryLength, alpha: scale)
            }
        }
        return (dQ, dK, dV)
    }
}
