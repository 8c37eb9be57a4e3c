// Every backward rule of the engine, in one switch. Each rule returns one gradient per entry of
// `Op.inputs` (nil where the input needs none). Broadcasting is undone in one place, `unbroadcast`.

enum Backward {
    /// Gradients of `op`'s inputs given the gradient `g` of its `output`. Runs with recording off.
    static func gradients(of op: Op, output: Tensor, gradient g: Tensor) -> [Tensor?] {
        switch op {
        case .add(let a, let b):
            return [unbroadcast(g, to: a), unbroadcast(g, to: b)]
        case .subtract(let a, let b):
            return [unbroadcast(g, to: a), b.requiresGradient ? unbroadcast(Kernels.unary(.negate, g), to: b) : nil]
        case .multiply(let a, let b):
            return [
                a.requiresGradient ? unbroadcast(Kernels.binary(MultiplyFunctor.self, g, b), to: a) : nil,
                b.requiresGradient ? unbroadcast(Kernels.binary(MultiplyFunctor.self, g, a), to: b) : nil,
            ]
        case .divide(let a, let b):
            // d(a/b)/da = 1/b ; d(a/b)/db = −a/b² = −output/b
            let gOverB = Kernels.binary(DivideFunctor.self, g, b)
            let gB = b.requiresGradient
                ? unbroadcast(Kernels.unary(.negate, Kernels.binary(MultiplyFunctor.self, gOverB, output)), to: b) : nil
            return [a.requiresGradient ? unbroadcast(gOverB, to: a) : nil, gB]
        case .addScalar:
            return [g]
        case .multiplyScalar(_, let s):
            return [Kernels.map(g) { $0 * s }]
        case .power(let x, let p):
            // d(xᵖ)/dx = p · xᵖ⁻¹
            let derivative = p == 2 ? Kernels.map(x) { 2 * $0 } : Kernels.map(x) { p * Foundation.pow($0, p - 1) }
            return [Kernels.binary(MultiplyFunctor.self, g, derivative)]
        case .clamp(let x, let lower, let upper):
            let inside = Kernels.map(x) { $0 >= lower && $0 <= upper ? 1 : 0 }
            return [Kernels.binary(MultiplyFunctor.self, g, inside)]
        case .unary(let x, let function):
            return [Kernels.unaryBackward(function, input: x, output: output, gradient: g)]
        case .sum(let x, let axes):
            return [expand(g, reducedAxes: axes, to: x.shape)]
        case .mean(let x, let axes):
            let n = Float(axes.reduce(1) { $0 * x.shape[$1] })
            return [Kernels.map(expand(g, reducedAxes: axes, to: x.shape)) { $0 / n }]
        case .max(let x, let axes):
            // Route the gradient to the maxima, shared equally among ties.
            let maxima = expand(output, reducedAxes: axes, to: x.shape)
            let isMax = Kernels.binary(EqualFunctor.self, x, maxima)
            let ties = expand(Kernels.reduce(isMax, axes: axes, keepingDimensions: true, kind: .sum), reducedAxes: axes, to: x.shape)
            let share = Kernels.binary(DivideFunctor.self, isMax, ties)
            return [Kernels.binary(MultiplyFunctor.self, expand(g, reducedAxes: axes, to: x.shape), share)]
        case .reshape(let x):
            return [g.reshapedWithoutRecording(x.shape)]
        case .contiguousCopy:
            return [g]
        case .permute(_, let order):
            var inverse = order
            for (i, axis) in order.enumerated() { inverse[axis] = i }
            return [g.permutedWithoutRecording(inverse)]
        case .slice(let x, let axis, let start):
            let full = Tensor.zeros(x.shape)
            var starts = Array(repeating: 0, count: x.rank)
            starts[axis] = start
            Kernels.copy(from: g, into: Kernels.region(of: full, starts: starts, shape: g.shape))
            return [full]
        case .indexSelect(let x, let axis, let indices):
            let full = Tensor.zeros(x.shape)
            let upstream = g.contiguousWithoutRecording()
            var source = Array(repeating: 0, count: x.rank)
            var target = Array(repeating: 0, count: x.rank)
            var sliceShape = x.shape
            sliceShape[axis] = 1
            for (k, index) in indices.enumerated() {
                source[axis] = k
                target[axis] = index
                Kernels.accumulate(Kernels.region(of: upstream, starts: source, shape: sliceShape),
                                   into: Kernels.region(of: full, starts: target, shape: sliceShape))
            }
            return [full]
        case .concatenate(let parts, let axis):
            var start = 0
            return parts.map { part in
                defer { start += part.shape[axis] }
                return part.requiresGradient ? g.slicedWithoutRecording(axis: axis, start..<(start + part.shape[axis])) : nil
            }
        case .pad(let x, let padding):
            return [Kernels.region(of: g.contiguousWithoutRecording(), starts: padding.map(\.before), shape: x.shape)]
        case .upsampleNearest(let x):
            return [Kernels.nearestUpsamplingAdjoint(g, to: x.shape)]
        case .matmul(let a, let b):
            // dA = g · Bᵀ ; dB = Aᵀ · g (batch axes summed where they were broadcast).
            let gA = a.requiresGradient ? unbroadcast(Kernels.matmul(g, b.transposedWithoutRecording()), to: a) : nil
            let gB = b.requiresGradient ? unbroadcast(Kernels.matmul(a.transposedWithoutRecording(), g), to: b) : nil
            return [gA, gB]
        case .linear(let x, let weight, let bias):
            let outFeatures = weight.shape[0]
            let g2 = g.reshapedWithoutRecording([x.shape.dropLast().reduce(1, *), outFeatures])
            let gX = !x.requiresGradient ? nil
                : Kernels.widensInPanels(weight) ? Kernels.linearInputGradient(g2, weight: weight).reshapedWithoutRecording(x.shape)
                : Kernels.matmul(g2, weight).reshapedWithoutRecording(x.shape)
            let gW = weight.requiresGradient
                ? Kernels.matmul(g2.transposedWithoutRecording(), x.reshapedWithoutRecording([g2.shape[0], weight.shape[1]]))
                : nil
            let gB = bias?.requiresGradient == true ? Kernels.reduce(g2, axes: [0], keepingDimensions: false, kind: .sum) : nil
            return [gX, gW, gB]
        case .conv2d(let x, let weight, let bias, let parameters):
            let grads = Kernels.conv2dBackward(
                input: x, weight: weight, parameters: parameters, gradient: g,
                needs: (x.requiresGradient, weight.requiresGradient, bias?.requiresGradient == true))
            return [grads.input, grads.weight, grads.bias]
        case .groupNorm(let x, let weight, let bias, let groups, let mean, let inverseStd):
            let grads = Kernels.groupNormBackward(
                input: x, weight: weight, groups: groups, mean: mean, inverseStd: inverseStd, gradient: g,
                needs: (x.requiresGradient, weight?.requiresGradient == true, bias?.requiresGradient == true))
            return [grads.0, grads.1, grads.2]
        case .layerNorm(let x, let weight, let bias, let mean, let inverseStd):
            let grads = Kernels.layerNormBackward(
                input: x, weight: weight, mean: mean, inverseStd: inverseStd, gradient: g,
                needs: (x.requiresGradient, weight?.requiresGradient == true, bias?.requiresGradient == true))
            return [grads.0, grads.1, grads.2]
        case .rmsNorm(let x, let weight, let inverseRMS):
            let grads = Kernels.rmsNormBackward(
                input: x, weight: weight, inverseRMS: inverseRMS, gradient: g,
                needs: (x.requiresGradient, weight?.requiresGradient == true))
            return [grads.0, grads.1]
        case .softmax:
            return [Kernels.softmaxRowsBackward(output: output, gradient: g, logarithmic: false)]
        case .logSoftmax:
            return [Kernels.softmaxRowsBackward(output: output, gradient: g, logarithmic: true)]
        case .attention(let q, let k, let v, let scale, let logSumExp):
            let grads = Kernels.attentionBackward(
                query: q, key: k, value: v, output: output, logSumExp: logSumExp, scale: scale, gradient: g)
            return [grads.0, grads.1, grads.2]
        case .rotaryEmbedding(let x, let cos, let sin):
            return [Kernels.rotate(g, cos: cos, sin: sin, inverse: true).reshapedWithoutRecording(x.shape)]
        case .meanSquaredError(let a, let b):
            // d/da mean((a−b)²) = 2(a−b)/n
            let scale = 2 * g.item() / Float(Swift.max(a.count, 1))
            let difference = Kernels.binary(SubtractFunctor.self, a, b)
            return [
                a.requiresGradient ? Kernels.map(difference) { $0 * scale } : nil,
                b.requiresGradient ? Kernels.map(difference) { -$0 * scale } : nil,
            ]
        }
    }

    /// Sums a gradient over the axes along which `input` was broadcast.
    static func unbroadcast(_ gradient: Tensor, to input: Tensor) -> Tensor? {
        guard input.requiresGradient else { return nil }
        return gradient.summedWithoutRecording(toShape: input.shape)
    }

    /// Broadcasts the gradient of a reduction back over the reduced axes of `shape`.
    static func expand(_ gradient: Tensor, reducedAxes: [Int], to shape: [Int]) -> Tensor {
        var keptShape = shape
        for axis in reducedAxes { keptShape[axis] = 1 }
        return gradient.reshapedWithoutRecording(keptShape).broadcastWithoutRecording(to: shape)
    }
}

import Foundation

enum EqualFunctor: BinaryFunctor {
    @inline(__always) static func apply(_ x: Float, _ y: Float) -> Float { x == y ? 1 : 0 }
}

extension Tensor {
    func permutedWithoutRecording(_ order: [Int]) -> Tensor {
        Tensor(
            storage: storage,
            layout: Layout(shape: order.map { shape[$0] }, strides: order.map { layout.strides[$0] }, offset: layout.offset))
    }

    func transposedWithoutRecording() -> Tensor {
        var order = Array(0..<rank)
        order.swapAt(rank - 2, rank - 1)
        return permutedWithoutRecording(order)
    }

    func slicedWithoutRecording(axis: Int, _ range: Range<Int>) -> Tensor {
        var newLayout = layout
        newLayout.shape[axis] = range.count
        newLayout.offset += range.lowerBound * layout.strides[axis]
        return Tensor(storage: storage, layout: newLayout)
    }
}

extension Kernels {
    /// The adjoint of nearest upsampling `[N, C, H, W]` → `[N, C, Ho, Wo]`: each output gradient is added to
    /// the input pixel it was copied from (a 2×2 block sum for exact doubling).
    static func nearestUpsamplingAdjoint(_ gradient: Tensor, to shape: [Int]) -> Tensor {
        let (planes, height, width) = (shape[0] * shape[1], shape[2], shape[3])
        let (outHeight, outWidth) = (gradient.shape[2], gradient.shape[3])
        let gPinned = gradient.contiguousWithoutRecording()
        defer { withExtendedLifetime(gPinned) {} }  // `g` points into it
        let g = gPinned.basePointer
        let result = Tensor.zeros(shape)
        let y = result.basePointer
        let rows = NearestIndex.map(from: height, to: outHeight)
        let columns = NearestIndex.map(from: width, to: outWidth)
        ComputeThreads.parallelFor(planes, grain: Swift.max(1, 4096 / Swift.max(outHeight * outWidth, 1))) { range in
            for p in range {
                for oy in 0..<outHeight {
                    let source = g + (p * outHeight + oy) * outWidth
                    let target = y + (p * height + rows[oy]) * width
                    for ox in 0..<outWidth { target[columns[ox]] += source[ox] }
                }
            }
        }
        return result
    }
}
