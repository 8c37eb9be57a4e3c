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

    @Test("a small convolution after a large one on the same thread still matches the reference, forward and backward")
    func convolutionReusesScratchBuffer() {
        var g = SeededGenerator(seed: 34)
        // The large convolution leaves its im2col matrix in this thread's scratch buffer; the small ones that
        // follow borrow the same buffer and must overwrite every entry they read, padding included.
        let large = Tensor.randomNormal([1, 8, 24, 24], using: &g)
        _ = conv2d(large, weight: Tensor.randomNormal([8, 8, 3, 3], using: &g), padding: (1, 1))
        let image = Tensor.randomNormal([2, 3, 6, 5], using: &g, requiresGradient: true)
        let kernel = Tensor.randomNormal([4, 3, 3, 3], using: &g, requiresGradient: true)
        let expected = referenceConv2d(image, kernel, bias: nil, stride: (1, 1), padding: (1, 1))
        let output = conv2d(image, weight: kernel, padding: (1, 1))
        expectClose(output, expected.values, shape: expected.shape, absolute: 1e-5)
        // d(sum)/d(image) of a padded 3×3 convolution: at each pixel, the kernel taps that reach an output.
        output.sum().backward()
        let k = kernel.scalars()
        var inputGradient = [Float](repeating: 0, count: 2 * 3 * 6 * 5)
        for n in 0..<2 {
            for c in 0..<3 {
                for y in 0..<6 {
                    for x in 0..<5 {
                        var total: Float = 0
                        for o in 0..<4 {
                            for ky in 0..<3 where (0..<6).contains(y + 1 - ky) {
                                for kx in 0..<3 where (0..<5).contains(x + 1 - kx) { total += k[((o * 3 + c) * 3 + ky) * 3 + kx] }
                            }
                        }
                        inputGradient[((n * 3 + c) * 6 + y) * 5 + x] = total
                    }
                }
            }
        }
        expectClose(image.gradient, inputGradient, shape: [2, 3, 6, 5], absolute: 1e-4)
    }
}
