import PruneTensor

// Plain, loop-by-loop reference implementations in Double, independent of the engine's kernels.

/// The element of a broadcast operand of `shape` that feeds output position `index` (NumPy rules).
func broadcastSourceIndex(_ index: [Int], from shape: [Int]) -> Int {
    let lead = index.count - shape.count
    var flat = 0
    for axis in shape.indices {
        flat = flat * shape[axis] + (shape[axis] == 1 ? 0 : index[lead + axis])
    }
    return flat
}

/// The NumPy broadcast of two shapes, computed independently of the engine.
func referenceBroadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
    let rank = Swift.max(a.count, b.count)
    let pa = Array(repeating: 1, count: rank - a.count) + a
    let pb = Array(repeating: 1, count: rank - b.count) + b
    return zip(pa, pb).map { Swift.max($0, $1) }
}

/// A view of `base` with arbitrary strides (e.g. neither axis unit-stride).
func stridedView(_ base: Tensor, shape: [Int], strides: [Int]) -> Tensor {
    Tensor(storage: base.storage, layout: Layout(shape: shape, strides: strides, offset: 0))
}

/// Row-major values of a (possibly strided) tensor, as Double.
func doubles(_ tensor: Tensor) -> [Double] { tensor.scalars().map(Double.init) }

/// `a[..., m, k] · b[..., k, n]` with broadcast batch axes.
func referenceMatmul(_ a: Tensor, _ b: Tensor) -> (values: [Float], shape: [Int]) {
    let (m, k, n) = (a.shape[a.rank - 2], a.shape[a.rank - 1], b.shape[b.rank - 1])
    let batchA = Array(a.shape.dropLast(2))
    let batchB = Array(b.shape.dropLast(2))
    let batch = referenceBroadcastShape(batchA, batchB)
    let (x, y) = (doubles(a), doubles(b))
    var result: [Float] = []
    for flat in 0..<batch.reduce(1, *) {
        let index = multiIndex(flat, in: batch)
        let ia = broadcastSourceIndex(index, from: batchA) * m * k
        let ib = broadcastSourceIndex(index, from: batchB) * k * n
        for i in 0..<m {
            for j in 0..<n {
                var total = 0.0
                for p in 0..<k { total += x[ia + i * k + p] * y[ib + p * n + j] }
                result.append(Float(total))
            }
        }
    }
    return (result, batch + [m, n])
}

/// Direct 2-D cross-correlation with zero padding.
func referenceConv2d(
    _ input: Tensor, _ weight: Tensor, bias: Tensor?, stride: (Int, Int), padding: (Int, Int)
) -> (values: [Float], shape: [Int]) {
    let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
    let (o, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3])
    let oh = (h + 2 * padding.0 - kh) / stride.0 + 1
    let ow = (w + 2 * padding.1 - kw) / stride.1 + 1
    let (x, k) = (doubles(input), doubles(weight))
    let b = bias.map(doubles)
    var result: [Float] = []
    for image in 0..<n {
        for out in 0..<o {
            for y in 0..<oh {
                for xo in 0..<ow {
                    var total = b?[out] ?? 0
                    for channel in 0..<c {
                        for ky in 0..<kh {
                            for kx in 0..<kw {
                                let iy = y * stride.0 - padding.0 + ky
                                let ix = xo * stride.1 - padding.1 + kx
                                guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                                total += x[((image * c + channel) * h + iy) * w + ix]
                                    * k[((out * c + channel) * kh + ky) * kw + kx]
                            }
                        }
                    }
                    result.append(Float(total))
                }
            }
        }
    }
    return (result, [n, o, oh, ow])
}

/// softmax(scale · q kᵀ) v per batch and head; inputs `[B, H, L, D]` (any views).
func referenceAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, scale: Double) -> [Float] {
    let (batch, heads, lq, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
    let (lk, dv) = (k.shape[2], v.shape[3])
    let (qs, ks, vs) = (doubles(q), doubles(k), doubles(v))
    var result: [Float] = []
    for b in 0..<batch {
        for h in 0..<heads {
            let head = b * heads + h
            for i in 0..<lq {
                var scores = (0..<lk).map { j in
                    (0..<d).reduce(0.0) { $0 + qs[(head * lq + i) * d + $1] * ks[(head * lk + j) * d + $1] } * scale
                }
                let top = scores.max()!
                scores = scores.map { Foundation.exp($0 - top) }
                let total = scores.reduce(0, +)
                for e in 0..<dv {
                    let value = (0..<lk).reduce(0.0) { $0 + scores[$1] / total * vs[(head * lk + $1) * dv + e] }
                    result.append(Float(value))
                }
            }
        }
    }
    return result
}

/// Normalises consecutive rows of `rowLength` (population variance), then applies a per-element affine
/// chosen by `affineIndex(position in the tensor)`.
func referenceNormalize(
    _ values: [Double], rowLength: Int, epsilon: Double, weight: [Double]?, bias: [Double]?,
    affineIndex: (Int) -> Int
) -> [Float] {
    var result: [Float] = []
    for start in stride(from: 0, to: values.count, by: rowLength) {
        let row = values[start..<(start + rowLength)]
        let mean = row.reduce(0, +) / Double(rowLength)
        let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(rowLength)
        for (offset, value) in row.enumerated() {
            let a = affineIndex(start + offset)
            let normalized = (value - mean) / (variance + epsilon).squareRoot()
            result.append(Float(normalized * (weight?[a] ?? 1) + (bias?[a] ?? 0)))
        }
    }
    return result
}

import Foundation
