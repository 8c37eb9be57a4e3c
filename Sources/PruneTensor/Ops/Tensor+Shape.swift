import Foundation

// Views and copies that move elements around: reshape, permute, slice, index-select, concatenate,
// split, pad and nearest upsampling.

extension Tensor {
    /// A contiguous tensor with the same elements (`self` when already contiguous).
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        return Tensor.recorded(contiguousWithoutRecording(), from: [self], .contiguousCopy(self))
    }

    /// The same elements in `newShape` (one extent may be `-1`); a view when contiguous, else a copy.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        let resolved = resolvedShape(newShape)
        if resolved == shape { return self }
        let source = contiguous()
        let view = Tensor(storage: source.storage, layout: Layout(contiguous: resolved, offset: source.layout.offset))
        return Tensor.recorded(view, from: [source], .reshape(source))
    }

    func reshapedWithoutRecording(_ newShape: [Int]) -> Tensor {
        let source = contiguousWithoutRecording()
        return Tensor(storage: source.storage, layout: Layout(contiguous: newShape, offset: source.layout.offset))
    }

    private func resolvedShape(_ newShape: [Int]) -> [Int] {
        var resolved = newShape
        if let wildcard = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().reduce(1) { $1.offset == wildcard ? $0 : $0 * $1.element }
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            resolved[wildcard] = count / known
        }
        precondition(resolved.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        return resolved
    }

    /// Reorders the axes: axis `i` of the result is axis `order[i]` of `self` (a view).
    public func permuted(_ order: [Int]) -> Tensor {
        let resolved = order.map { normalizedAxis($0) }
        precondition(Set(resolved).count == rank && resolved.count == rank, "bad permutation \(order)")
        if resolved == Array(0..<rank) { return self }
        let view = Tensor(
            storage: storage,
            layout: Layout(
                shape: resolved.map { shape[$0] }, strides: resolved.map { layout.strides[$0] },
                offset: layout.offset))
        return Tensor.recorded(view, from: [self], .permute(self, order: resolved))
    }

    /// Swaps two axes (a view).
    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Tensor {
        var order = Array(0..<rank)
        order.swapAt(normalizedAxis(a), normalizedAxis(b))
        return permuted(order)
    }

    /// Elements `range` along `axis` (a view).
    public func sliced(axis: Int, _ range: Range<Int>) -> Tensor {
        let a = normalizedAxis(axis)
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[a], "slice \(range) out of 0..<\(shape[a])")
        if range.count == shape[a] { return self }
        var newLayout = layout
        newLayout.shape[a] = range.count
        newLayout.offset += range.lowerBound * layout.strides[a]
        return Tensor.recorded(
            Tensor(storage: storage, layout: newLayout), from: [self], .slice(self, axis: a, start: range.lowerBound))
    }

    /// Splits along `axis` into parts of the given sizes (views).
    public func split(sizes: [Int], axis: Int) -> [Tensor] {
        let a = normalizedAxis(axis)
        precondition(sizes.reduce(0, +) == shape[a], "split sizes \(sizes) do not add up to \(shape[a])")
        var start = 0
        return sizes.map { size in
            defer { start += size }
            return sliced(axis: a, start..<(start + size))
        }
    }

    /// Splits along `axis` into `count` equal parts (views), as `torch.chunk` with an even split.
    public func chunked(_ count: Int, axis: Int) -> [Tensor] {
        let extent = size(axis)
        precondition(extent % count == 0, "cannot chunk extent \(extent) into \(count) equal parts")
        return split(sizes: Array(repeating: extent / count, count: count), axis: axis)
    }

    /// The entries at `indices` along `axis`, in that order (a copy).
    public func indexSelect(axis: Int, indices: [Int]) -> Tensor {
        let a = normalizedAxis(axis)
        precondition(indices.allSatisfy { $0 >= 0 && $0 < shape[a] }, "index out of 0..<\(shape[a])")
        var outputShape = shape
        outputShape[a] = indices.count
        let outer = shape[..<a].reduce(1, *)
        let inner = shape[(a + 1)...].reduce(1, *)
        let source = contiguousWithoutRecording()
        defer { withExtendedLifetime(source) {} }  // `x` points into it
        let result = Tensor(storage: Storage(uninitializedCount: outputShape.reduce(1, *)), shape: outputShape)
        let x = source.basePointer
        let y = result.basePointer
        let extent = shape[a]
        for o in 0..<outer {
            for (k, index) in indices.enumerated() {
                (y + (o * indices.count + k) * inner).update(from: x + (o * extent + index) * inner, count: inner)
            }
        }
        return Tensor.recorded(result, from: [self], .indexSelect(self, axis: a, indices: indices))
    }

    /// Zero-pads (or pads with `value`) each axis by `(before, after)` elements; `padding` lists the
    /// leading axes, missing trailing entries mean no padding.
    public func padded(_ padding: [(before: Int, after: Int)], value: Float = 0) -> Tensor {
        precondition(padding.count <= rank, "padding has more entries than axes")
        let full = (0..<rank).map { $0 < padding.count ? padding[$0] : (before: 0, after: 0) }
        precondition(full.allSatisfy { $0.before >= 0 && $0.after >= 0 }, "padding must be non-negative")
        let outputShape = (0..<rank).map { shape[$0] + full[$0].before + full[$0].after }
        let result = Tensor.full(outputShape, value: value)
        let interior = Kernels.region(of: result, starts: full.map(\.before), shape: shape)
        Kernels.copy(from: self, into: interior)
        return Tensor.recorded(result, from: [self], .pad(self, padding: full))
    }

    /// Nearest-neighbour upsampling by 2 in both spatial axes: `[N, C, H, W]` → `[N, C, 2H, 2W]`.
    public func upsampledNearest2x() -> Tensor {
        precondition(rank == 4, "upsampledNearest2x needs [N, C, H, W], got \(shape)")
        return upsampledNearest(height: 2 * shape[2], width: 2 * shape[3])
    }

    /// Nearest-neighbour resampling to `height × width` as `torch.nn.functional.interpolate(x, size=…,
    /// mode="nearest")`: output pixel `(y, x)` copies input pixel `(⌊y·H/Ho⌋, ⌊x·W/Wo⌋)`.
    /// `[N, C, H, W]` → `[N, C, height, width]`.
    public func upsampledNearest(height outHeight: Int, width outWidth: Int) -> Tensor {
        precondition(rank == 4, "upsampledNearest needs [N, C, H, W], got \(shape)")
        precondition(outHeight > 0 && outWidth > 0, "upsampledNearest needs a positive size")
        let (planes, height, width) = (shape[0] * shape[1], shape[2], shape[3])
        let source = contiguousWithoutRecording()
        defer { withExtendedLifetime(source) {} }  // `x` points into it
        let result = Tensor(
            storage: Storage(uninitializedCount: planes * outHeight * outWidth), shape: [shape[0], shape[1], outHeight, outWidth])
        let x = source.basePointer
        let y = result.basePointer
        let rows = NearestIndex.map(from: height, to: outHeight)
        let columns = NearestIndex.map(from: width, to: outWidth)
        ComputeThreads.parallelFor(planes, grain: Swift.max(1, 4096 / Swift.max(outHeight * outWidth, 1))) { range in
            for p in range {
                for oy in 0..<outHeight {
                    let target = y + (p * outHeight + oy) * outWidth
                    if oy > 0 && rows[oy] == rows[oy - 1] {
                        target.update(from: target - outWidth, count: outWidth)
                        continue
                    }
                    let line = x + (p * height + rows[oy]) * width
                    for ox in 0..<outWidth { target[ox] = line[columns[ox]] }
                }
            }
        }
        return Tensor.recorded(result, from: [self], .upsampleNearest(self))
    }
}

/// Joins tensors along `axis`; all other extents must agree.
public func concatenate(_ parts: [Tensor], axis: Int) -> Tensor {
    precondition(!parts.isEmpty, "concatenate needs at least one tensor")
    let a = parts[0].normalizedAxis(axis)
    var outputShape = parts[0].shape
    outputShape[a] = parts.reduce(0) { $0 + $1.shape[a] }
    for part in parts {
        precondition(
            part.rank == outputShape.count
                && part.shape.indices.allSatisfy { $0 == a || part.shape[$0] == outputShape[$0] },
            "concatenate: \(part.shape) does not fit \(outputShape) along axis \(a)")
    }
    let result = Tensor(storage: Storage(uninitializedCount: outputShape.reduce(1, *)), shape: outputShape)
    var start = 0
    for part in parts {
        var starts = Array(repeating: 0, count: outputShape.count)
        starts[a] = start
        Kernels.copy(from: part, into: Kernels.region(of: result, starts: starts, shape: part.shape))
        start += part.shape[a]
    }
    return Tensor.recorded(result, from: parts, .concatenate(parts, axis: a))
}

extension Kernels {
    /// A view into `tensor` (contiguous) covering the box at `starts` with extents `shape`.
    static func region(of tensor: Tensor, starts: [Int], shape: [Int]) -> Tensor {
        let offset = zip(starts, tensor.layout.strides).reduce(tensor.layout.offset) { $0 + $1.0 * $1.1 }
        return Tensor(storage: tensor.storage, layout: Layout(shape: shape, strides: tensor.layout.strides, offset: offset))
    }

    /// Copies the view `source` into the (possibly strided) view `destination` of the same shape.
    static func copy(from source: Tensor, into destination: Tensor) {
        precondition(source.shape == destination.shape, "copy: \(source.shape) into \(destination.shape)")
        let loop = StridedLoop(shape: source.shape, strides: [source.layout.strides, destination.layout.strides])
        let x = source.basePointer
        let y = destination.basePointer
        let inner = loop.innerCount
        let (sx, sy) = (loop.innerStrides[0], loop.innerStrides[1])
        ComputeThreads.parallelFor(loop.rowCount, grain: loop.rowGrain) { rows in
            for row in rows {
                let input = x + loop.offset(row: row, operand: 0)
                let output = y + loop.offset(row: row, operand: 1)
                if sx == 1 && sy == 1 {
                    output.update(from: input, count: inner)
                } else {
                    for j in 0..<inner { output[j * sy] = input[j * sx] }
                }
            }
        }
    }

    /// Adds the view `source` into the view `destination` of the same shape (`destination += source`).
    static func accumulate(_ source: Tensor, into destination: Tensor) {
        precondition(source.shape == destination.shape, "accumulate: \(source.shape) into \(destination.shape)")
        let loop = StridedLoop(shape: source.shape, strides: [source.layout.strides, destination.layout.strides])
        let x = source.basePointer
        let y = destination.basePointer
        let inner = loop.innerCount
        let (sx, sy) = (loop.innerStrides[0], loop.innerStrides[1])
        for row in 0..<loop.rowCount {
            let input = x + loop.offset(row: row, operand: 0)
            let output = y + loop.offset(row: row, operand: 1)
            for j in 0..<inner { output[j * sy] += input[j * sx] }
        }
    }
}

/// PyTorch's nearest-neighbour source index: `min(⌊dst · (in / out)⌋, in − 1)`, with the scale in float32.
enum NearestIndex {
    static func map(from input: Int, to output: Int) -> [Int] {
        let scale = Float(input) / Float(output)
        return (0..<output).map { Swift.min(Int((Float($0) * scale).rounded(.down)), input - 1) }
    }
}
