import Foundation
import PruneTensor

/// Memory-bound kernels, reported as GB/s of the bytes they must read and write.
enum ElementwiseBenchmarks {
    static let target = Target.bandwidth(5)

    /// Runs every case on tensors of `elements` floats (`elements` must be a multiple of 1024·16).
    static func run(elements: Int, policy: TimingPolicy) -> [CaseResult] {
        Report.printHeader("element-wise (\(elements) floats, \((elements * 4) >> 10) KiB per tensor)")
        let floatSize = 4.0
        let count = Double(elements)
        let a = Tensor.randomUniform([elements], low: -4, high: 4, seed: 20)
        let b = Tensor.randomUniform([elements], low: -4, high: 4, seed: 21)

        // A per-channel bias on an NCHW activation, as after a convolution: [1, C, H, W] + [C, 1, 1].
        let channels = 1024
        let side = Int(Double(elements / channels).squareRoot())
        precondition(channels * side * side == elements, "element count must be 1024 · s²")
        let activation = a.reshaped([1, channels, side, side])
        let bias = Tensor.randomUniform([channels, 1, 1], low: -1, high: 1, seed: 22)

        // Rows to sum over the last axis.
        let rowLength = 4096 <= elements / 16 ? 4096 : 1024
        let matrix = a.reshaped([elements / rowLength, rowLength])

        let cases: [(name: String, bytes: Double, body: () -> Void)] = [
            ("add [\(elements)] + [\(elements)]", 3 * count * floatSize, { keepAlive(a + b) }),
            (
                "bias add \(activation.shape) + \(bias.shape)", (2 * count + Double(channels)) * floatSize,
                { keepAlive(activation + bias) }
            ),
            ("silu [\(elements)]", 2 * count * floatSize, { keepAlive(a.silu()) }),
            (
                "sum last axis \(matrix.shape)", (count + Double(elements / rowLength)) * floatSize,
                { keepAlive(matrix.sum(axes: [-1])) }
            ),
        ]
        verify(a, b, activation: activation, bias: bias, matrix: matrix)
        return cases.map { entry in
            let result = CaseResult(
                group: "elementwise", name: entry.name, seconds: measure(policy, entry.body), bytes: entry.bytes,
                target: target)
            Report.printRow(result)
            return result
        }
    }

    /// Spot checks of every case's result.
    private static func verify(_ a: Tensor, _ b: Tensor, activation: Tensor, bias: Tensor, matrix: Tensor) {
        let (x, y) = (a.basePointer, b.basePointer)
        Verification.check("add", a + b) { Double(x[$0[0]]) + Double(y[$0[0]]) }
        Verification.check("bias add", activation + bias) { index in
            Double(Verification.element(activation, index)) + Double(Verification.element(bias, [index[1], 0, 0]))
        }
        Verification.check("silu", a.silu()) { index in
            let value = Double(x[index[0]])
            return value / (1 + Foundation.exp(-value))
        }
        let rowLength = matrix.shape[1]
        Verification.check("sum", matrix.sum(axes: [-1])) { index in
            (0..<rowLength).reduce(0.0) { $0 + Double(Verification.element(matrix, [index[0], $1])) }
        }
    }
}
