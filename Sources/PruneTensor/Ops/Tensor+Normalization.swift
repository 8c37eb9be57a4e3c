import Foundation

// Group, layer and RMS normalisation with fused forward and backward kernels.

/// Group normalisation as `torch.nn.functional.group_norm`.
///
/// - Parameters:
///   - input: `[N, C, *]` (any number of trailing spatial axes).
///   - groups: number of channel groups; must divide `C`.
///   - weight, bias: `[C]` or `nil`.
/// - Returns: the input's shape.
public func groupNorm(_ input: Tensor, groups: Int, weight: Tensor? = nil, bias: Tensor? = nil, epsilon: Float = 1e-5)
    -> Tensor
{
    precondition(input.rank >= 2, "groupNorm needs [N, C, *], got \(input.shape)")
    let (batch, channels) = (input.shape[0], input.shape[1])
    precondition(groups > 0 && channels % groups == 0, "groupNorm: \(groups) groups do not divide \(channels) channels")
    for affine in [weight, bias] {
        if let affine { precondition(affine.shape == [channels], "groupNorm affine must be [\(channels)], got \(affine.shape)") }
    }
    let spatial = input.count / Swift.max(batch * channels, 1)
    let rowCount = batch * groups
    let rowLength = channels / groups * spatial
    let xContiguous = input.contiguousWithoutRecording()
    defer { withExtendedLifetime(xContiguous) {} }  // `x` points into it
    let x = xContiguous.basePointer
    let result = Tensor(storage: Storage(uninitializedCount: input.count), shape: input.shape)
    let mean = Tensor(storage: Storage(uninitializedCount: rowCount), shape: [batch, groups])
    let inverseStd = Tensor(storage: Storage(uninitializedCount: rowCount), shape: [batch, groups])
    let wContiguous = weight?.contiguousWithoutRecording()
    defer { withExtendedLifetime(wContiguous) {} }  // `w` points into it
    let w = wContiguous?.basePointer
    let bContiguous = bias?.contiguousWithoutRecording()
    defer { withExtendedLifetime(bContiguous) {} }  // `b` points into it
    let b = bContiguous?.basePointer
    let y = result.basePointer
    let (means, inverseStds) = (mean.basePointer, inverseStd.basePointer)
    let channelsPerGroup = channels / groups
    ComputeThreads.parallelFor(rowCount, grain: Swift.max(1, 16_384 / Swift.max(rowLength, 1))) { rows in
        for row in rows {
            let (mu, rstd) = Kernels.moments(x + row * rowLength, count: rowLength, epsilon: epsilon)
            means[row] = mu
            inverseStds[row] = rstd
            let firstChannel = (row % groups) * channelsPerGroup
            for k in 0..<channelsPerGroup {
                let c = firstChannel + k
                let scale = rstd * (w?[c] ?? 1)
                let shift = (b?[c] ?? 0) - mu * scale
                let source = x + row * rowLength + k * spatial
                let target = y + row * rowLength + k * spatial
                for s in 0..<spatial { target[s] = source[s] * scale + shift }
            }
        }
    }
    return Tensor.recorded(
        result, from: [input, weight, bias],
        .groupNorm(input, weight: weight, bias: bias, groups: groups, mean: mean, inverseStd: inverseStd))
}

/// Layer normalisation over the last axis as `torch.nn.functional.layer_norm(x, [D], weight, bias, eps)`.
///
/// - Parameters:
///   - input: `[..., D]`.
///   - weight, bias: `[D]` or `nil` (no affine).
public func layerNorm(_ input: Tensor, weight: Tensor? = nil, bias: Tensor? = nil, epsilon: Float = 1e-5) -> Tensor {
    let width = input.shape.last ?? 1
    for affine in [weight, bias] {
        if let affine { precondition(affine.shape == [width], "layerNorm affine must be [\(width)], got \(affine.shape)") }
    }
    let rowCount = input.count / Swift.max(width, 1)
    let xContiguous = input.contiguousWithoutRecording()
    defer { withExtendedLifetime(xContiguous) {} }  // `x` points into it
    let x = xContiguous.basePointer
    let result = Tensor(storage: Storage(uninitializedCount: input.count), shape: input.shape)
    let mean = Tensor(storage: Storage(uninitializedCount: rowCount), shape: [rowCount])
    let inverseStd = Tensor(storage: Storage(uninitializedCount: rowCount), shape: [rowCount])
    let wContiguous = weight?.contiguousWithoutRecording()
    defer { withExtendedLifetime(wContiguous) {} }  // `w` points into it
    let w = wContiguous?.basePointer
    let bContiguous = bias?.contiguousWithoutRecording()
    defer { withExtendedLifetime(bContiguous) {} }  // `b` points into it
    let b = bContiguous?.basePointer
    let y = result.basePointer
    let (means, inverseStds) = (mean.basePointer, inverseStd.basePointer)
    ComputeThreads.parallelFor(rowCount, grain: Swift.max(1, 16_384 / Swift.max(width, 1))) { rows in
        for row in rows {
            let source = x + row * width
            let target = y + row * width
            let (mu, rstd) = Kernels.moments(source, count: width, epsilon: epsilon)
            means[row] = mu
            inverseStds[row] = rstd
            switch (w, b) {
            case let (w?, b?): for d in 0..<width { target[d] = (source[d] - mu) * rstd * w[d] + b[d] }
            case let (w?, nil): for d in 0..<width { target[d] = (source[d] - mu) * rstd * w[d] }
            case let (nil, b?): for d in 0..<width { target[d] = (source[d] - mu) * rstd + b[d] }
            case (nil, nil): for d in 0..<width { target[d] = (source[d] - mu) * rstd }
            }
        }
    }
    return Tensor.recorded(
        result, from: [input, weight, bias],
        .layerNorm(input, weight: weight, bias: bias, mean: mean, inverseStd: inverseStd))
}

/// RMS normalisation over the last axis, `x · rsqrt(mean(x²) + ε) · weight`, as diffusers' `RMSNorm`.
///
/// - Parameters:
///   - input: `[..., D]`.
///   - weight: `[D]` or `nil`.
public func rmsNorm(_ input: Tensor, weight: Tensor? = nil, epsilon: Float = 1e-6) -> Tensor {
    let width = input.shape.last ?? 1
    if let weight { precondition(weight.shape == [width], "rmsNorm weight must be [\(width)], got \(weight.shape)") }
    let rowCount = input.count / Swift.max(width, 1)
    let xContiguous = input.contiguousWithoutRecording()
    defer { withExtendedLifetime(xContiguous) {} }  // `x` points into it
    let x = xContiguous.basePointer
    let result = Tensor(storage: Storage(uninitializedCount: input.count), shape: input.shape)
    let inverseRMS = Tensor(storage: Storage(uninitializedCount: rowCount), shape: [rowCount])
    let wContiguous = weight?.contiguousWithoutRecording()
    defer { withExtendedLifetime(wContiguous) {} }  // `w` points into it
    let w = wContiguous?.basePointer
    let y = result.basePointer
    let inverse = inverseRMS.basePointer
    ComputeThreads.parallelFor(rowCount, grain: Swift.max(1, 16_384 / Swift.max(width, 1))) { rows in
        for row in rows {
            let source = x + row * width
            let target = y + row * width
            var sumOfSquares: Float = 0
            for d in 0..<width { sumOfSquares += source[d] * source[d] }
            let r = 1 / (sumOfSquares / Float(width) + epsilon).squareRoot()
            inverse[row] = r
            if let w {
                for d in 0..<width { target[d] = source[d] * r * w[d] }
            } else {
                for d in 0..<width { target[d] = source[d] * r }
            }
        }
    }
    return Tensor.recorded(result, from: [input, weight], .rmsNorm(input, weight: weight, inverseRMS: inverseRMS))
}

extension Kernels {
    /// Mean and `1/sqrt(variance + ε)` of a row (two passes, population variance).
    @inline(__always)
    static func moments(_ row: UnsafePointer<Float>, count: Int, epsilon: Float) -> (Float, Float) {
        let mean = sumOfRow(row, count: count) / Float(Swift.max(count, 1))
        var squares: Float = 0
        for i in 0..<count {
            let d = row[i] - mean
            squares += d * d
        }
        let variance = squares / Float(Swift.max(count, 1))
        return (mean, 1 / (variance + epsilon).squareRoot())
    }

    /// Backward of a normalisation over rows: given `x`, the row statistics and `dxhat` (the gradient
    /// with respect to the normalised value), writes `dx = rstd · (dxhat − mean(dxhat) − x̂ · mean(dxhat·x̂))`.
    @inline(__always)
    static func normalizationRowBackward(
        x: UnsafePointer<Float>, dxhat: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, count: Int,
        mean: Float, inverseStd: Float
    ) {
        var sumDxhat: Float = 0
        var sumDxhatXhat: Float = 0
        for i in 0..<count {
            let xhat = (x[i] - mean) * inverseStd
            sumDxhat += dxhat[i]
            sumDxhatXhat += dxhat[i] * xhat
        }
        let n = Float(count)
        let (meanDxhat, meanDxhatXhat) = (sumDxhat / n, sumDxhatXhat / n)
        for i in 0..<count {
            let xhat = (x[i] - mean) * inverseStd
            dx[i] = inverseStd * (dxhat[i] - meanDxhat - xhat * meanDxhatXhat)
        }
    }

    /// Gradients of ``groupNorm(_:groups:weight:bias:epsilon:)``.
    static func groupNormBackward(
        input: Tensor, weight: Tensor?, groups: Int, mean: Tensor, inverseStd: Tensor, gradient: Tensor,
        needs: (input: Bool, weight: Bool, bias: Bool)
    ) -> (Tensor?, Tensor?, Tensor?) {
        let (batch, channels) = (input.shape[0], input.shape[1])
        let spatial = input.count / Swift.max(batch * channels, 1)
        let channelsPerGroup = channels / groups
        let rowLength = channelsPerGroup * spatial
        let xContiguous = input.contiguousWithoutRecording()
        defer { withExtendedLifetime(xContiguous) {} }  // `x` points into it
        let x = xContiguous.basePointer
        let gContiguous = gradient.contiguousWithoutRecording()
        defer { withExtendedLifetime(gContiguous) {} }  // `g` points into it
        let g = gContiguous.basePointer
        let wContiguous = weight?.contiguousWithoutRecording()
        defer { withExtendedLifetime(wContiguous) {} }  // `w` points into it
        let w = wContiguous?.basePointer
        let (means, inverseStds) = (mean.basePointer, inverseStd.basePointer)
        let inputGradient = needs.input ? Tensor(storage: Storage(uninitializedCount: input.count), shape: input.shape) : nil
        // Per (n, c) partial sums of g·x̂ and g, reduced over n afterwards.
        let weightPartial = Tensor.zeros([batch, channels])
        let biasPartial = Tensor.zeros([batch, channels])
        let (wp, bp) = (weightPartial.basePointer, biasPartial.basePointer)
        let dx = inputGradient?.basePointer
        ComputeThreads.parallelFor(batch * groups, grain: Swift.max(1, 8192 / Swift.max(rowLength, 1))) { rows in
            let dxhat = UnsafeMutablePointer<Float>.allocate(capacity: rowLength)
            defer { dxhat.deallocate() }
            for row in rows {
                let (mu, rstd) = (means[row], inverseStds[row])
                let n = row / groups
                let firstChannel = (row % groups) * channelsPerGroup
                for k in 0..<channelsPerGroup {
                    let c = firstChannel + k
                    let scale = w?[c] ?? 1
                    let base = row * rowLength + k * spatial
                    var sumGXhat: Float = 0
                    var sumG: Float = 0
                    for s in 0..<spatial {
                        let gi = g[base + s]
                        dxhat[k * spatial + s] = gi * scale
                        sumGXhat += gi * (x[base + s] - mu) * rstd
                        sumG += gi
                    }
                    wp[n * channels + c] = sumGXhat
                    bp[n * channels + c] = sumG
                }
                if let dx {
                    normalizationRowBackward(
                        x: x + row * rowLength, dxhat: dxhat, dx: dx + row * rowLength, count: rowLength,
                        mean: mu, inverseStd: rstd)
                }
            }
        }
        let weightGradient = needs.weight ? reduce(weightPartial, axes: [0], keepingDimensions: false, kind: .sum) : nil
        let biasGradient = needs.bias ? reduce(biasPartial, axes: [0], keepingDimensions: false, kind: .sum) : nil
        return (inputGradient, weightGradient, biasGradient)
    }

    /// Gradients of ``layerNorm(_:weight:bias:epsilon:)``.
    static func layerNormBackward(
        input: Tensor, weight: Tensor?, mean: Tensor, inverseStd: Tensor, gradient: Tensor,
        needs: (input: Bool, weight: Bool, bias: Bool)
    ) -> (Tensor?, Tensor?, Tensor?) {
        let width = input.shape.last ?? 1
        let rowCount = input.count / Swift.max(width, 1)
        let xContiguous = input.contiguousWithoutRecording()
        defer { withExtendedLifetime(xContiguous) {} }  // `x` points into it
        let x = xContiguous.basePointer
        let gContiguous = gradient.contiguousWithoutRecording()
        defer { withExtendedLifetime(gContiguous) {} }  // `g` points into it
        let g = gContiguous.basePointer
        let wContiguous = weight?.contiguousWithoutRecording()
        defer { withExtendedLifetime(wContiguous) {} }  // `w` points into it
        let w = wContiguous?.basePointer
        let (means, inverseStds) = (mean.basePointer, inverseStd.basePointer)
        let inputGradient = needs.input ? Tensor(storage: Storage(uninitializedCount: input.count), shape: input.shape) : nil
        let normalizedTimesGradient = needs.weight ? Tensor(storage: Storage(uninitializedCount: input.count), shape: [rowCount, width]) : nil
        let dx = inputGradient?.basePointer
        let gx = normalizedTimesGradient?.basePointer
        ComputeThreads.parallelFor(rowCount, grain: Swift.max(1, 8192 / Swift.max(width, 1))) { rows in
            let dxhat = UnsafeMutablePointer<Float>.allocate(capacity: width)
            defer { dxhat.deallocate() }
            for row in rows {
                let (mu, rstd) = (means[row], inverseStds[row])
                let source = x + row * width
                let upstream = g + row * width
                if let gx {
                    for d in 0..<width { gx[row * width + d] = upstream[d] * (source[d] - mu) * rstd }
                }
                if let dx {
                    if let w {
                        for d in 0..<width { dxhat[d] = upstream[d] * w[d] }
                    } else {
                        dxhat.update(from: upstream, count: width)
                    }
                    normalizationRowBackward(
                        x: source, dxhat: dxhat, dx: dx + row * width, count: width, mean: mu, inverseStd: rstd)
                }
            }
        }
        let weightGradient = normalizedTimesGradient.map { reduce($0, axes: [0], keepingDimensions: false, kind: .sum) }
        let biasGradient = needs.bias
            ? reduce(gradient.reshapedWithoutRecording([rowCount, width]), axes: [0], keepingDimensions: false, kind: .sum)
            : nil
        return (inputGradient, weightGradient, biasGradient)
    }

    /// Gradients of ``rmsNorm(_:weight:epsilon:)``: `dx = r·(g·w − x·r²·mean(g·w·x))`, `dw = Σ g·x·r`.
    static func rmsNormBackward(
        input: Tensor, weight: Tensor?, inverseRMS: Tensor, gradient: Tensor, needs: (input: Bool, weight: Bool)
    ) -> (Tensor?, Tensor?) {
        let width = input.shape.last ?? 1
        let rowCount = input.count / Swift.max(width, 1)
        let xContiguous = input.contiguousWithoutRecording()
        defer { withExtendedLifetime(xContiguous) {} }  // `x` points into it
        let x = xContiguous.basePointer
        let gContiguous = gradient.contiguousWithoutRecording()
        defer { withExtendedLifetime(gContiguous) {} }  // `g` points into it
        let g = gContiguous.basePointer
        let wContiguous = weight?.contiguousWithoutRecording()
        defer { withExtendedLifetime(wContiguous) {} }  // `w` points into it
        let w = wContiguous?.basePointer
        let inverse = inverseRMS.basePointer
        let inputGradient = needs.input ? Tensor(storage: Storage(uninitializedCount: input.count), shape: input.shape) : nil
        let weightTerms = needs.weight ? Tensor(storage: Storage(uninitializedCount: input.count), shape: [rowCount, width]) : nil
        let dx = inputGradient?.basePointer
        let wt = weightTerms?.basePointer
        ComputeThreads.parallelFor(rowCount, grain: Swift.max(1, 8192 / Swift.max(width, 1))) { rows in
            for row in rows {
                let r = inverse[row]
                let source = x + row * width
                let upstream = g + row * width
                if let wt {
                    for d in 0..<width { wt[row * width + d] = upstream[d] * source[d] * r }
                }
                if let dx {
                    var dot: Float = 0
                    for d in 0..<width { dot += upstream[d] * (w?[d] ?? 1) * source[d] }
                    let correction = r * r * dot / Float(width)
                    let target = dx + row * width
                    for d in 0..<width { target[d] = r * (upstream[d] * (w?[d] ?? 1) - source[d] * correction) }
                }
            }
        }
        return (inputGradient, weightTerms.map { reduce($0, axes: [0], keepingDimensions: false, kind: .sum) })
    }
}
