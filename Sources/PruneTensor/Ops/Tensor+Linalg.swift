import CBLAS

// Matrix products. Every product goes through `cblas_sgemm`; transposed views are passed to BLAS as
// transposes instead of being copied.

/// A matrix operand for sgemm: base pointer, leading dimension and whether BLAS should transpose it.
struct MatrixOperand {
    let pointer: UnsafeMutablePointer<Float>
    let leadingDimension: Int
    let transpose: Bool

    init(pointer: UnsafeMutablePointer<Float>, leadingDimension: Int, transpose: Bool) {
        self.pointer = pointer
        self.leadingDimension = leadingDimension
        self.transpose = transpose
    }

    /// Describes the last two axes of `tensor` (rows × columns) at element `offset` as a BLAS operand,
    /// or `nil` when neither they nor their transpose are unit-stride, or when `tensor` is not `float32` (callers
    /// then pass `contiguousWithoutRecording()`, which widens it).
    init?(_ tensor: Tensor, batchOffset: Int = 0) {
        guard tensor.dtype == .float32 else { return nil }
        let rows = tensor.shape[tensor.rank - 2]
        let columns = tensor.shape[tensor.rank - 1]
        let rowStride = tensor.layout.strides[tensor.rank - 2]
        let columnStride = tensor.layout.strides[tensor.rank - 1]
        pointer = tensor.storage.floats + tensor.layout.offset + batchOffset
        if (columnStride == 1 || columns == 1) && (rowStride >= Swift.max(columns, 1) || rows == 1) {
            transpose = false
            leadingDimension = Swift.max(rows == 1 ? columns : rowStride, 1)
        } else if (rowStride == 1 || rows == 1) && (columnStride >= Swift.max(rows, 1) || columns == 1) {
            transpose = true
            leadingDimension = Swift.max(columns == 1 ? rows : columnStride, 1)
        } else {
            return nil
        }
    }
}

extension Kernels {
    /// `C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C`, row-major, through `cblas_sgemm`.
    @inline(__always)
    static func gemm(
        _ a: MatrixOperand, _ b: MatrixOperand, _ c: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int,
        alpha: Float = 1, beta: Float = 0, ldc: Int? = nil
    ) {
        OperationCounter.add(2 * m * n * k)
        cblas_sgemm(
            CblasRowMajor, a.transpose ? CblasTrans : CblasNoTrans, b.transpose ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a.pointer, Int32(a.leadingDimension), b.pointer,
            Int32(b.leadingDimension), beta, c, Int32(ldc ?? n))
    }

    /// A row-major matrix operand over a raw buffer.
    @inline(__always)
    static func operand(_ pointer: UnsafeMutablePointer<Float>, leadingDimension: Int, transpose: Bool = false)
        -> MatrixOperand
    {
        MatrixOperand(pointer: pointer, leadingDimension: Swift.max(leadingDimension, 1), transpose: transpose)
    }

    /// Batched matrix product `a[..., m, k] · b[..., k, n]` with broadcast batch axes.
    static func matmul(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.rank >= 2 && b.rank >= 2, "matmul needs rank ≥ 2, got \(a.shape) and \(b.shape)")
        let (m, k) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (k2, n) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        precondition(k == k2, "matmul: inner extents differ, \(a.shape) · \(b.shape)")
        let batchShape = broadcastShapes(Array(a.shape.dropLast(2)), Array(b.shape.dropLast(2)))
        let batchCount = batchShape.reduce(1, *)
        let result = Tensor(
            storage: Storage(uninitializedCount: batchCount * m * n), shape: batchShape + [m, n])
        let c = result.basePointer
        if k == 0 || m == 0 || n == 0 {
            c.update(repeating: 0, count: result.count)
            return result
        }

        // One big product when b is a single matrix and a's rows stack contiguously.
        if b.rank == 2, a.isContiguous {
            let left = operand(a.basePointer, leadingDimension: k)
            let rightSource = MatrixOperand(b) == nil ? b.contiguousWithoutRecording() : b
            defer { withExtendedLifetime(rightSource) {} }  // `right` points into it
            let right = MatrixOperand(rightSource)!
            gemm(left, right, c, m: batchCount * m, n: n, k: k)
            return result
        }

        let left = MatrixOperand(a, batchOffset: 0) == nil ? a.contiguousWithoutRecording() : a
        let right = MatrixOperand(b, batchOffset: 0) == nil ? b.contiguousWithoutRecording() : b
        let stridesA = Layout(
            shape: Array(left.shape.dropLast(2)), strides: Array(left.layout.strides.dropLast(2)), offset: 0
        ).broadcastStrides(to: batchShape)
        let stridesB = Layout(
            shape: Array(right.shape.dropLast(2)), strides: Array(right.layout.strides.dropLast(2)), offset: 0
        ).broadcastStrides(to: batchShape)
        for batch in 0..<batchCount {
            var remaining = batch
            var offsetA = 0
            var offsetB = 0
            for axis in stride(from: batchShape.count - 1, through: 0, by: -1) {
                let index = remaining % batchShape[axis]
                remaining /= batchShape[axis]
                offsetA += index * stridesA[axis]
                offsetB += index * stridesB[axis]
            }
            gemm(
                MatrixOperand(left, batchOffset: offsetA)!, MatrixOperand(right, batchOffset: offsetB)!,
                c + batch * m * n, m: m, n: n, k: k)
        }
        return result
    }
}

/// Matrix product of the last two axes, `[..., m, k] · [..., k, n] → [..., m, n]`, broadcasting the
/// leading (batch) axes.
public func matmul(_ a: Tensor, _ b: Tensor) -> Tensor {
    Tensor.recorded(Kernels.matmul(a, b), from: [a, b], .matmul(a, b))
}

/// A fully connected layer, `y = x · weightᵀ + bias`, as `torch.nn.functional.linear`.
///
/// - Parameters:
///   - input: `[..., inFeatures]`.
///   - weight: `[outFeatures, inFeatures]`.
///   - bias: `[outFeatures]` or `nil`.
/// - Returns: `[..., outFeatures]`.
///
/// A `float16`/`bfloat16` weight (frozen, as loaded) is widened one panel of rows at a time inside the product,
/// here and in the backward pass for `input`; it cannot itself receive a gradient.
public func linear(_ input: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
    precondition(weight.rank == 2, "linear weight must be [out, in], got \(weight.shape)")
    let inFeatures = weight.shape[1]
    let outFeatures = weight.shape[0]
    precondition(input.shape.last == inFeatures, "linear: input \(input.shape) does not end in \(inFeatures)")
    if let bias { precondition(bias.shape == [outFeatures], "linear bias must be [\(outFeatures)], got \(bias.shape)") }
    let rows = input.shape.dropLast().reduce(1, *)
    let result = Tensor(storage: Storage(uninitializedCount: rows * outFeatures), shape: input.shape.dropLast() + [outFeatures])
    let y = result.basePointer
    var beta: Float = 0
    if let bias {
        let bContiguous = bias.contiguousWithoutRecording()
        defer { withExtendedLifetime(bContiguous) {} }  // `b` points into it
        let b = bContiguous.basePointer
        for r in 0..<rows { (y + r * outFeatures).update(from: b, count: outFeatures) }
        beta = 1
    }
    if inFeatures == 0 {
        // An empty reduction (every input unit pruned): the output is the bias alone.
        if bias == nil { y.update(repeating: 0, count: rows * outFeatures) }
    } else if rows > 0 && outFeatures > 0 && Kernels.widensInPanels(weight) {
        // A 16-bit weight: y[:, panel] = x · W[panel]ᵀ, each panel of rows widened just before its product.
        let x = input.contiguousWithoutRecording()
        defer { withExtendedLifetime(x) {} }  // the gemm operand points into it
        Kernels.forEachWidenedPanel(of: weight) { panel, panelRows in
            Kernels.gemm(
                Kernels.operand(x.basePointer, leadingDimension: inFeatures),
                Kernels.operand(panel, leadingDimension: inFeatures, transpose: true), y + panelRows.lowerBound,
                m: rows, n: panelRows.count, k: inFeatures, beta: beta, ldc: outFeatures)
        }
    } else if rows > 0 && outFeatures > 0 {
        let x = input.contiguousWithoutRecording()
        let weightSource = MatrixOperand(weight) == nil ? weight.contiguousWithoutRecording() : weight
        defer { withExtendedLifetime((x, weightSource)) {} }  // the gemm operands point into them
        let w = MatrixOperand(weightSource)!
        let transposedWeight = MatrixOperand(pointer: w.pointer, leadingDimension: w.leadingDimension, transpose: !w.transpose)
        Kernels.gemm(
            Kernels.operand(x.basePointer, leadingDimension: inFeatures), transposedWeight, y,
            m: rows, n: outFeatures, k: inFeatures, beta: beta)
    }
    return Tensor.recorded(result, from: [input, weight, bias], .linear(input, weight: weight, bias: bias))
}

extension Kernels {
    /// Whether `linear` multiplies by `weight` panel by panel: a contiguous 16-bit `[out, in]` matrix.
    static func widensInPanels(_ weight: Tensor) -> Bool {
        (weight.dtype == .float16 || weight.dtype == .bfloat16) && weight.isContiguous && weight.rank == 2
    }

    /// `g · W` `[rows, in]` for `g` `[rows, out]` and a 16-bit `W` `[out, in]`: the gradient of `linear` with
    /// respect to its input, summed over panels of `W`'s rows widened one at a time.
    static func linearInputGradient(_ g: Tensor, weight: Tensor) -> Tensor {
        let (rows, outFeatures, inFeatures) = (g.shape[0], weight.shape[0], weight.shape[1])
        let result = Tensor(storage: Storage(zeroedCount: rows * inFeatures), shape: [rows, inFeatures])
        let gContiguous = g.contiguousWithoutRecording()
        defer { withExtendedLifetime(gContiguous) {} }  // the gemm operand points into it
        guard rows > 0 && inFeatures > 0 else { return result }
        forEachWidenedPanel(of: weight) { panel, panelRows in
            gemm(
                operand(gContiguous.basePointer + panelRows.lowerBound, leadingDimension: outFeatures),
                operand(panel, leadingDimension: inFeatures), result.basePointer,
                m: rows, n: inFeatures, k: panelRows.count, beta: 1)
        }
        return result
    }
}
