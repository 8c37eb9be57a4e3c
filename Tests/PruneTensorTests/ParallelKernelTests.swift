import Foundation
import PruneTensor
import Testing

// Tensors large enough that the element-wise, copy, reduction, softmax and im2col kernels split their
// work across ComputeThreads (chunks start at 2 × 16 384 elements), checked against plain loops.

@Suite("Kernels split across threads")
struct ParallelKernelTests {
    @Test("broadcast add, exp and a transposed copy of ~40k elements")
    func elementwiseAndCopy() {
        var g = SeededGenerator(seed: 31)
        let a = Tensor.randomNormal([80, 512], using: &g)
        let b = Tensor.randomNormal([512], using: &g)
        let (av, bv) = (a.scalars(), b.scalars())
        let sum = (a + b).scalars()
        #expect(sum.indices.allSatisfy { sum[$0] == av[$0] + bv[$0 % 512] })
        expectClose(a.exp().scalars(), av.map { Float(Foundation.exp(Double($0))) }, absolute: 0, relative: 1e-6)
        let t = a.transposed().contiguous().scalars()
        #expect(t.indices.allSatisfy { t[$0] == av[($0 % 80) * 512 + $0 / 80] })
    }

    @Test("sums over leading and trailing axes, and the gradient of a large broadcast")
    func reductions() {
        var g = SeededGenerator(seed: 32)
        let x = Tensor.randomNormal([256, 160], using: &g, requiresGradient: true)
        let values = x.scalars().map(Double.init)
        let columns = (0..<160).map { c in Float((0..<256).reduce(0.0) { $0 + values[$1 * 160 + c] }) }
        let rows = (0..<256).map { r in Float((0..<160).reduce(0.0) { $0 + values[r * 160 + $1] }) }
        expectClose(x.sum(axes: [0]), columns, shape: [160], absolute: 1e-3)
        expectClose(x.sum(axes: [1]), rows, shape: [256], absolute: 1e-3)
        let maxima = (0..<256).map { r in (0..<160).map { values[r * 160 + $0] }.max()! }
        expectClose(x.max(axes: [1]), maxima.map(Float.init), shape: [256], absolute: 0)
        let bias = Tensor.zeros([160], requiresGradient: true)
        let weights = Tensor.randomNormal([256, 160], using: &g)
        ((x + bias) * weights).sum().backward()
        let w = weights.scalars().map(Double.init)
        let expected = (0..<160).map { c in Float((0..<256).reduce(0.0) { $0 + w[$1 * 160 + c] }) }
        expectClose(bias.gradient, expected, shape: [160], absolute: 1e-3)
        expectClose(x.gradient, weights)
    }

    @Test("softmax rows and a conv2d whose im2col is split across threads")
    func softmaxAndConvolution() {
        var g = SeededGenerator(seed: 33)
        let logits = Tensor.randomNormal([1024, 40], using: &g)
        let p = logits.softmax().scalars()
        for row in stride(from: 0, to: 1024, by: 97) {
            let sum = p[(row * 40)..<(row * 40 + 40)].reduce(0, +)
            #expect(Swift.abs(sum - 1) < 1e-5)
        }
        let image = Tensor.randomNormal([1, 3, 32, 32], using: &g)
        let kernel = Tensor.randomNormal([4, 3, 3, 3], using: &g)
        let bias = Tensor.randomNormal([4], using: &g)
        let expected = referenceConv2d(image, kernel, bias: bias, stride: (1, 1), padding: (1, 1))
        expectClose(conv2d(image, weight: kernel, bias: bias, padding: (1, 1)), expected.values, shape: expected.shape, absolute: 1e-4)
    }
}
