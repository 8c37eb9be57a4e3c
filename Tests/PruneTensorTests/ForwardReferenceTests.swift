import Foundation
import PruneTensor
import Testing

// Forward values of the heavier kernels against loop-by-loop references in Double (Support/Reference.swift).
// The gradient checks prove backward matches forward; these prove forward computes the right thing.

@Suite("Forward values match loop-by-loop references")
struct ForwardReferenceTests {
    @Test("matmul: 2-D, batched, broadcast batches and strided views")
    func matmulCases() {
        var g = SeededGenerator(seed: 21)
        let base = Tensor.randomNormal([24], using: &g)
        let pairs: [(Tensor, Tensor)] = [
            (Tensor.randomNormal([3, 4], using: &g), Tensor.randomNormal([4, 2], using: &g)),
            (Tensor.randomNormal([2, 3, 4], using: &g), Tensor.randomNormal([2, 4, 5], using: &g)),
            (Tensor.randomNormal([2, 3, 4, 5], using: &g), Tensor.randomNormal([5, 6], using: &g)),
            (Tensor.randomNormal([3, 4], using: &g), Tensor.randomNormal([2, 4, 5], using: &g)),
            (Tensor.randomNormal([2, 1, 3, 4], using: &g), Tensor.randomNormal([3, 4, 2], using: &g)),
            (Tensor.randomNormal([4, 3], using: &g).transposed(), Tensor.randomNormal([5, 4], using: &g).transposed()),
            (Tensor.randomNormal([2, 4, 3], using: &g).transposed(), Tensor.randomNormal([4, 2], using: &g)),
            // Neither axis of the right operand is unit-stride: the kernel must copy it first.
            (Tensor.randomNormal([2, 4], using: &g), stridedView(base, shape: [4, 3], strides: [6, 2])),
            (stridedView(base, shape: [2, 4], strides: [2, 6]), Tensor.randomNormal([2, 4, 3], using: &g)),
            (Tensor.randomNormal([1, 4], using: &g), Tensor.randomNormal([4, 1], using: &g)),
        ]
        for (a, b) in pairs {
            let expected = referenceMatmul(a, b)
            expectClose(matmul(a, b), expected.values, shape: expected.shape, absolute: 1e-5, "\(a.shape) · \(b.shape)")
        }
    }

    @Test("linear with a 3-D input, a transposed weight and a strided weight")
    func linearCases() {
        var g = SeededGenerator(seed: 22)
        let x = Tensor.randomNormal([2, 3, 4], using: &g)
        let bias = Tensor.randomNormal([5], using: &g)
        let base = Tensor.randomNormal([40], using: &g)
        let weights = [
            Tensor.randomNormal([5, 4], using: &g),
            Tensor.randomNormal([4, 5], using: &g).transposed(),
            stridedView(base, shape: [5, 4], strides: [8, 2]),
        ]
        for weight in weights {
            // y = x · Wᵀ + b
            let product = referenceMatmul(x, weight.transposed())
            let expected = product.values.enumerated().map { $0.element + bias.scalars()[$0.offset % 5] }
            expectClose(linear(x, weight: weight, bias: bias), expected, shape: [2, 3, 5], absolute: 1e-5)
            expectClose(linear(x, weight: weight), product.values, shape: [2, 3, 5], absolute: 1e-5)
        }
    }

    struct ConvCase: Sendable, CustomTestStringConvertible {
        let input: [Int]
        let weight: [Int]
        let stride: (Int, Int)
        let padding: (Int, Int)
        let bias: Bool
        var testDescription: String { "input \(input), weight \(weight), stride \(stride), padding \(padding), bias \(bias)" }
    }

    static let convCases: [ConvCase] = [
        ConvCase(input: [2, 3, 5, 5], weight: [4, 3, 3, 3], stride: (1, 1), padding: (0, 0), bias: true),
        ConvCase(input: [2, 2, 5, 5], weight: [3, 2, 3, 3], stride: (2, 2), padding: (1, 1), bias: false),
        ConvCase(input: [1, 2, 4, 4], weight: [3, 2, 3, 3], stride: (1, 1), padding: (1, 1), bias: true),
        ConvCase(input: [2, 3, 4, 4], weight: [5, 3, 1, 1], stride: (1, 1), padding: (0, 0), bias: true),
        ConvCase(input: [2, 3, 5, 5], weight: [2, 3, 1, 1], stride: (2, 2), padding: (0, 0), bias: false),
        ConvCase(input: [2, 2, 5, 4], weight: [3, 2, 2, 3], stride: (2, 1), padding: (0, 1), bias: true),
        ConvCase(input: [1, 1, 6, 7], weight: [2, 1, 3, 2], stride: (3, 2), padding: (2, 1), bias: false),
    ]

    @Test("conv2d matches direct cross-correlation", arguments: convCases)
    func conv2dMatchesReference(_ c: ConvCase) {
        var g = SeededGenerator(seed: stableSeed(c.testDescription))
        let x = Tensor.randomNormal(c.input, using: &g)
        let w = Tensor.randomNormal(c.weight, using: &g)
        let b = c.bias ? Tensor.randomNormal([c.weight[0]], using: &g) : nil
        let expected = referenceConv2d(x, w, bias: b, stride: c.stride, padding: c.padding)
        expectClose(conv2d(x, weight: w, bias: b, stride: c.stride, padding: c.padding), expected.values, shape: expected.shape, absolute: 1e-5)
    }

    @Test("conv2d of a permuted (channels-last) input")
    func conv2dPermutedInput() {
        var g = SeededGenerator(seed: 23)
        let channelsLast = Tensor.randomNormal([2, 4, 4, 3], using: &g)
        let x = channelsLast.permuted([0, 3, 1, 2])
        let w = Tensor.randomNormal([2, 3, 3, 3], using: &g)
        let expected = referenceConv2d(x, w, bias: nil, stride: (1, 1), padding: (1, 1))
        expectClose(conv2d(x, weight: w, padding: (1, 1)), expected.values, shape: expected.shape, absolute: 1e-5)
    }

    @Test("attention over permuted [B, L, H, D] views with Lq ≠ Lk and Dv ≠ D")
    func attentionMatchesReference() {
        var g = SeededGenerator(seed: 24)
        let q = Tensor.randomNormal([2, 3, 2, 4], using: &g).permuted([0, 2, 1, 3])
        let k = Tensor.randomNormal([2, 5, 2, 4], using: &g).permuted([0, 2, 1, 3])
        let v = Tensor.randomNormal([2, 5, 2, 3], using: &g).permuted([0, 2, 1, 3])
        let output = scaledDotProductAttention(query: q, key: k, value: v)
        expectClose(output, referenceAttention(q, k, v, scale: 0.5), shape: [2, 2, 3, 3], absolute: 1e-5)
        // The output is laid out [B, Lq, H, Dv]: permuting back to tokens-major is contiguous.
        #expect(output.permuted([0, 2, 1, 3]).isContiguous)
        let scaled = scaledDotProductAttention(query: q, key: k, value: v, scale: 1.3)
        expectClose(scaled, referenceAttention(q, k, v, scale: 1.3), shape: [2, 2, 3, 3], absolute: 1e-5)
        // A single query row and a single key.
        let q1 = Tensor.randomNormal([1, 2, 1, 4], using: &g)
        let k1 = Tensor.randomNormal([1, 2, 1, 4], using: &g)
        let v1 = Tensor.randomNormal([1, 2, 1, 2], using: &g)
        expectClose(scaledDotProductAttention(query: q1, key: k1, value: v1), v1.scalars(), shape: [1, 2, 1, 2])
    }

    @Test("softmax and logSoftmax along every axis", arguments: [0, 1, 2, -1])
    func softmaxAlongAxis(_ axis: Int) {
        let x = Tensor.randomNormal([2, 3, 4], seed: 25)
        let resolved = axis < 0 ? axis + 3 : axis
        let values = doubles(x)
        var expected = [Double](repeating: 0, count: x.count)
        for flat in 0..<x.count {
            var index = multiIndex(flat, in: x.shape)
            var total = 0.0
            for j in 0..<x.shape[resolved] {
                index[resolved] = j
                total += Foundation.exp(values[zip(index, rowMajorStrides(x.shape)).reduce(0) { $0 + $1.0 * $1.1 }])
            }
            expected[flat] = Foundation.exp(values[flat]) / total
        }
        expectClose(x.softmax(axis: axis), expected.map(Float.init), shape: x.shape, absolute: 1e-6)
        expectClose(x.logSoftmax(axis: axis), expected.map { Float(Foundation.log($0)) }, shape: x.shape, absolute: 1e-5)
    }

    @Test("softmax is stable for large logits")
    func softmaxStable() {
        let x = Tensor([1000, 1000, -1000, 999], shape: [4])
        let e = Float(M_E)
        expectClose(x.softmax(), [e / (2 * e + 1), e / (2 * e + 1), 0, 1 / (2 * e + 1)], shape: [4], absolute: 1e-6)
        #expect(x.logSoftmax().scalars().allSatisfy { $0.isFinite })
    }

    @Test("groupNorm, layerNorm and rmsNorm with affine parameters")
    func normalizations() {
        var g = SeededGenerator(seed: 26)
        let x = Tensor.randomNormal([2, 4, 3, 2], using: &g)
        let weight = Tensor.randomNormal([4], using: &g)
        let bias = Tensor.randomNormal([4], using: &g)
        // Two groups of two channels: rows of 2·3·2 = 12 values; channel = (position / 6) % 4.
        let expectedGroup = referenceNormalize(
            doubles(x), rowLength: 12, epsilon: 1e-5, weight: doubles(weight), bias: doubles(bias),
            affineIndex: { ($0 / 6) % 4 })
        expectClose(groupNorm(x, groups: 2, weight: weight, bias: bias), expectedGroup, shape: x.shape, absolute: 2e-5)

        let rows = Tensor.randomNormal([3, 5], using: &g)
        let w5 = Tensor.randomNormal([5], using: &g)
        let b5 = Tensor.randomNormal([5], using: &g)
        let expectedLayer = referenceNormalize(
            doubles(rows), rowLength: 5, epsilon: 1e-5, weight: doubles(w5), bias: doubles(b5), affineIndex: { $0 % 5 })
        expectClose(layerNorm(rows, weight: w5, bias: b5), expectedLayer, shape: [3, 5], absolute: 2e-5)

        // rms: x / √(mean(x²) + ε) · w.
        let values = doubles(rows)
        var expectedRMS: [Float] = []
        for r in 0..<3 {
            let row = values[(r * 5)..<(r * 5 + 5)]
            let rms = (row.reduce(0) { $0 + $1 * $1 } / 5 + 1e-6).squareRoot()
            expectedRMS += row.enumerated().map { Float($0.element / rms * Double(w5.scalars()[$0.offset])) }
        }
        expectClose(rmsNorm(rows, weight: w5), expectedRMS, shape: [3, 5], absolute: 2e-5)
    }

    @Test("sum, mean, max and variance over axes", arguments: [[0], [1], [2], [0, 2], [1, 2], [0, 1, 2]])
    func reductions(_ axes: [Int]) {
        let x = Tensor.randomNormal([2, 3, 4], seed: 27)
        let values = doubles(x)
        let keptShape = x.shape.indices.map { axes.contains($0) ? 1 : x.shape[$0] }
        let outputShape = x.shape.indices.filter { !axes.contains($0) }.map { x.shape[$0] }
        var groups = [[Double]](repeating: [], count: keptShape.reduce(1, *))
        for flat in 0..<x.count {
            let index = multiIndex(flat, in: x.shape)
            let kept = index.indices.map { axes.contains($0) ? 0 : index[$0] }
            groups[zip(kept, rowMajorStrides(keptShape)).reduce(0) { $0 + $1.0 * $1.1 }].append(values[flat])
        }
        let sums = groups.map { $0.reduce(0, +) }
        let means = groups.map { $0.reduce(0, +) / Double($0.count) }
        let maxima = groups.map { $0.max()! }
        let variances = zip(groups, means).map { group, mean in group.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(group.count - 1) }
        expectClose(x.sum(axes: axes), sums.map(Float.init), shape: outputShape, absolute: 1e-5)
        expectClose(x.sum(axes: axes, keepingDimensions: true), sums.map(Float.init), shape: keptShape, absolute: 1e-5)
        expectClose(x.mean(axes: axes), means.map(Float.init), shape: outputShape, absolute: 1e-5)
        expectClose(x.max(axes: axes, keepingDimensions: true), maxima.map(Float.init), shape: keptShape)
        expectClose(x.variance(axes: axes, correction: 1), variances.map(Float.init), shape: outputShape, absolute: 1e-5)
        // The same reductions over a permuted view reduce the same elements.
        let permutedAxes = axes.map { [2, 0, 1].firstIndex(of: $0)! }
        let view = x.permuted([2, 0, 1])
        expectClose(view.sum(axes: permutedAxes).reshaped([-1]).scalars().sorted(), sums.map(Float.init).sorted(), absolute: 1e-5)
        expectClose(view.max(axes: permutedAxes).reshaped([-1]).scalars().sorted(), maxima.map(Float.init).sorted())
    }

    @Test("applyRotaryEmbedding matches diffusers' apply_rotary_emb on interleaved pairs")
    func rotaryMatchesReference() {
        var g = SeededGenerator(seed: 28)
        let tokens = Tensor.randomNormal([1, 3, 2, 4], using: &g)
        let x = tokens.permuted([0, 2, 1, 3])  // [B, H, L, D]
        let tables = GradientCheckTable.rotaryTables(length: 3, depth: 4)
        let (cos, sin) = (doubles(tables[0]), doubles(tables[1]))
        // out = x·cos + rotate(x)·sin, rotate(x)₂ᵢ = −x₂ᵢ₊₁, rotate(x)₂ᵢ₊₁ = x₂ᵢ.
        let values = doubles(x)
        var expected: [Float] = []
        for flat in 0..<x.count {
            let index = multiIndex(flat, in: x.shape)
            let (position, d) = (index[2], index[3])
            let rotated = d % 2 == 0 ? -values[flat + 1] : values[flat - 1]
            expected.append(Float(values[flat] * cos[position * 4 + d] + rotated * sin[position * 4 + d]))
        }
        expectClose(applyRotaryEmbedding(x, cos: tables[0], sin: tables[1]), expected, shape: [1, 2, 3, 4], absolute: 1e-6)
    }

    @Test("meanSquaredError of views")
    func meanSquaredErrorOfViews() {
        let a = Tensor([1, 2, 3, 4, 5, 6], shape: [3, 2]).transposed()  // [[1, 3, 5], [2, 4, 6]]
        let b = Tensor([0, 0, 0, 0, 0, 0], shape: [2, 3])
        expectClose(meanSquaredError(a, b), [91.0 / 6.0], shape: [])
    }
}
