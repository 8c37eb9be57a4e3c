// Reductions over axes: sum, mean, max, variance; and the broadcast helpers their gradients use.

extension Tensor {
    /// Sum over `axes` (all axes when `nil`); reduced axes are kept with extent 1 when `keepingDimensions`.
    public func sum(axes: [Int]? = nil, keepingDimensions: Bool = false) -> Tensor {
        let resolved = resolvedAxes(axes)
        let result = Kernels.reduce(self, axes: resolved, keepingDimensions: keepingDimensions, kind: .sum)
        return Tensor.recorded(result, from: [self], .sum(self, axes: resolved))
    }

    /// Arithmetic mean over `axes` (all axes when `nil`).
    public func mean(axes: [Int]? = nil, keepingDimensions: Bool = false) -> Tensor {
        let resolved = resolvedAxes(axes)
        let result = Kernels.reduce(self, axes: resolved, keepingDimensions: keepingDimensions, kind: .mean)
        return Tensor.recorded(result, from: [self], .mean(self, axes: resolved))
    }

    /// Maximum over `axes` (all axes when `nil`). The gradient is shared equally among tied maxima.
    public func max(axes: [Int]? = nil, keepingDimensions: Bool = false) -> Tensor {
        let resolved = resolvedAxes(axes)
        let result = Kernels.reduce(self, axes: resolved, keepingDimensions: keepingDimensions, kind: .max)
        return Tensor.recorded(result, from: [self], .max(self, axes: resolved))
    }

    /// Variance over `axes`, dividing by `N - correction` (0: population, 1: unbiased, as `torch.var`).
    public func variance(axes: [Int]? = nil, correction: Int = 0, keepingDimensions: Bool = false) -> Tensor {
        let resolved = resolvedAxes(axes)
        let n = resolved.reduce(1) { $0 * shape[$1] }
        let centered = self - mean(axes: resolved, keepingDimensions: true)
        let sumOfSquares = centered.pow(2).sum(axes: resolved, keepingDimensions: keepingDimensions)
        return sumOfSquares * (1 / Float(n - correction))  // like torch: inf or nan when N − correction ≤ 0
    }

    /// Sorted, de-duplicated, non-negative axes; all axes for `nil`.
    func resolvedAxes(_ axes: [Int]?) -> [Int] {
        guard let axes else { return Array(0..<rank) }
        return Array(Set(axes.map { normalizedAxis($0) })).sorted()
    }

    /// This tensor broadcast (copied) to `target`, never recorded.
    func broadcastWithoutRecording(to target: [Int]) -> Tensor {
        if shape == target { return self }
        let view = Tensor(
            storage: storage,
            layout: Layout(shape: target, strides: layout.broadcastStrides(to: target), offset: layout.offset))
        let result = Tensor(storage: Storage(uninitializedCount: view.count), shape: target)
        Kernels.copy(from: view, into: result.basePointer)
        return result
    }

    /// Sums a gradient of a broadcast result back to `shape` (the shape before broadcasting), not recorded.
    func summedWithoutRecording(toShape target: [Int]) -> Tensor {
        if shape == target { return self }
        let lead = rank - target.count
        var axes = Array(0..<lead)
        for axis in target.indices where target[axis] == 1 && shape[lead + axis] != 1 {
            axes.append(lead + axis)
        }
        let reduced = Kernels.reduce(self, axes: axes, keepingDimensions: true, kind: .sum)
        return reduced.reshapedWithoutRecording(target)
    }
}

extension Kernels {
    enum ReductionKind { case sum, mean, max }

    /// Reduces `input` over the sorted, normalised `axes`.
    static func reduce(_ input: Tensor, axes: [Int], keepingDimensions: Bool, kind: ReductionKind) -> Tensor {
        let shape = input.shape
        let reducedSet = Set(axes)
        let kept = shape.indices.filter { !reducedSet.contains($0) }
        let outputShape = keepingDimensions
            ? shape.indices.map { reducedSet.contains($0) ? 1 : shape[$0] }
            : kept.map { shape[$0] }
        let keptCount = kept.reduce(1) { $0 * shape[$1] }
        let reducedCount = axes.reduce(1) { $0 * shape[$1] }
        let result = Tensor(storage: Storage(uninitializedCount: keptCount), shape: outputShape)
        let output = result.basePointer
        if reducedCount == 0 {
            output.update(repeating: kind == .max ? -.infinity : (kind == .mean ? .nan : 0), count: keptCount)
            return result
        }
        let scale: Float = kind == .mean ? 1 / Float(reducedCount) : 1

        // Leading axes reduced over a contiguous input: accumulate whole rows (column sums).
        if input.isContiguous, axes == Array(0..<axes.count) {
            let x = input.basePointer
            ComputeThreads.parallelFor(keptCount, grain: Swift.max(1, 16_384 / Swift.max(reducedCount, 1))) {
                columns in
                for c in columns { output[c] = kind == .max ? x[c] : 0 }
                for r in 0..<reducedCount {
                    let row = x + r * keptCount
                    if kind == .max {
                        if r == 0 { continue }
                        for c in columns where row[c] > output[c] || row[c].isNaN { output[c] = row[c] }
                    } else {
                        for c in columns { output[c] += row[c] }
                    }
                }
                if scale != 1 { for c in columns { output[c] *= scale } }
            }
            return result
        }

        // Otherwise bring the reduced axes last (a copy unless they already are) and reduce rows.
        let order = kept + axes
        let permuted = Tensor(
            storage: input.storage,
            layout: Layout(
                shape: order.map { shape[$0] }, strides: order.map { input.layout.strides[$0] },
                offset: input.layout.offset))
        let rows = permuted.contiguousWithoutRecording()
        defer { withExtendedLifetime(rows) {} }  // `x` points into it
        let x = rows.basePointer
        let n = reducedCount
        ComputeThreads.parallelFor(keptCount, grain: Swift.max(1, 16_384 / n)) { range in
            for r in range {
                let row = x + r * n
                switch kind {
                case .max:
                    var best = row[0]
                    for j in 1..<n where row[j] > best || row[j].isNaN { best = row[j] }
                    output[r] = best
                case .sum, .mean:
                    output[r] = sumOfRow(row, count: n) * scale
                }
            }
        }
        return result
    }

    /// Sum of `count` consecutive floats with eight independent accumulators (vectorisable and more
    /// accurate than one running sum).
    @inline(__always)
    static func sumOfRow(_ row: UnsafePointer<Float>, count: Int) -> Float {
        var partial = SIMD8<Float>()
        var j = 0
        while j + 8 <= count {
            partial += UnsafeRawPointer(row + j).loadUnaligned(as: SIMD8<Float>.self)
            j += 8
        }
        var total = partial.sum()
        while j < count {
            total += row[j]
            j += 1
        }
        return total
    }
}
