import Foundation

// Softmax and log-softmax along an axis.

extension Tensor {
    /// `exp(x) / Σ exp(x)` along `axis` (numerically stable).
    public func softmax(axis: Int = -1) -> Tensor {
        alongLastAxis(axis) { x in
            Tensor.recorded(Kernels.softmaxRows(x, logarithmic: false), from: [x], .softmax(x))
        }
    }

    /// `x − log Σ exp(x)` along `axis` (numerically stable).
    public func logSoftmax(axis: Int = -1) -> Tensor {
        alongLastAxis(axis) { x in
            Tensor.recorded(Kernels.softmaxRows(x, logarithmic: true), from: [x], .logSoftmax(x))
        }
    }

    /// Applies a last-axis operation to `axis` by swapping it to the end and back.
    private func alongLastAxis(_ axis: Int, _ body: (Tensor) -> Tensor) -> Tensor {
        let a = normalizedAxis(axis)
        if a == rank - 1 { return body(self) }
        return body(transposed(a, -1)).transposed(a, -1)
    }
}

extension Kernels {
    /// Row-wise (log-)softmax over the last axis; output is contiguous.
    static func softmaxRows(_ input: Tensor, logarithmic: Bool) -> Tensor {
        let width = input.shape.last ?? 1
        let rowCount = input.count / Swift.max(width, 1)
        let xContiguous = input.contiguousWithoutRecording()
        defer { withExtendedLifetime(xContiguous) {} }  // `x` points into it
        let x = xContiguous.basePointer
        let result = Tensor(storage: Storage(uninitializedCount: input.count), shape: input.shape)
        let y = result.basePointer
        ComputeThreads.parallelFor(rowCount, grain: Swift.max(1, 8192 / Swift.max(width, 1))) { rows in
            for row in rows {
                softmaxRow(x + row * width, y + row * width, count: width, logarithmic: logarithmic)
            }
        }
        return result
    }

    /// Writes the (log-)softmax of one row; returns `log Σ exp(x)`. `source` and `target` may alias.
    @inline(__always)
    @discardableResult
    static func softmaxRow(
        _ source: UnsafePointer<Float>, _ target: UnsafeMutablePointer<Float>, count: Int, logarithmic: Bool
    ) -> Float {
        var maximum = -Float.infinity
        for i in 0..<count where source[i] > maximum { maximum = source[i] }
        if maximum == -.infinity { maximum = 0 }
        var total: Float = 0
        if logarithmic {
            for i in 0..<count { total += Foundation.exp(source[i] - maximum) }
            let logTotal = Foundation.log(total) + maximum
            for i in 0..<count { target[i] = source[i] - logTotal }
            return logTotal
        }
        for i in 0..<count {
            let e = Foundation.exp(source[i] - maximum)
            target[i] = e
            total += e
        }
        let inverse = 1 / total
        for i in 0..<count { target[i] *= inverse }
        return Foundation.log(total) + maximum
    }

    /// Backward of softmax rows: `dx = y ⊙ (g − Σ g⊙y)`; of log-softmax: `dx = g − softmax · Σ g`.
    static func softmaxRowsBackward(output: Tensor, gradient: Tensor, logarithmic: Bool) -> Tensor {
        let width = output.shape.last ?? 1
        let rowCount = output.count / Swift.max(width, 1)
        let yContiguous = output.contiguousWithoutRecording()
        defer { withExtendedLifetime(yContiguous) {} }  // `y` points into it
        let y = yContiguous.basePointer
        let gContiguous = gradient.contiguousWithoutRecording()
        defer { withExtendedLifetime(gContiguous) {} }  // `g` points into it
        let g = gContiguous.basePointer
        let result = Tensor(storage: Storage(uninitializedCount: output.count), shape: output.shape)
        let dx = result.basePointer
        ComputeThreads.parallelFor(rowCount, grain: Swift.max(1, 8192 / Swift.max(width, 1))) { rows in
            for row in rows {
                let (yr, gr, dr) = (y + row * width, g + row * width, dx + row * width)
                if logarithmic {
                    let total = sumOfRow(gr, count: width)
                    for i in 0..<width { dr[i] = gr[i] - Foundation.exp(yr[i]) * total }
                } else {
                    var dot: Float = 0
                    for i in 0..<width { dot += gr[i] * yr[i] }
                    for i in 0..<width { dr[i] = yr[i] * (gr[i] - dot) }
                }
            }
        }
        return result
    }
}
