import PruneTensor

/// `conv2d` forward and backward against raw sgemm on the equivalent im2col GEMMs.
enum ConvolutionBenchmarks {
    /// One convolution: `channels → channels`, 3×3 kernel, padding 1, stride 1.
    struct Case: Sendable {
        let batch, channels, size: Int
        var label: String { "\(channels)→\(channels) 3×3 on \(size)×\(size), batch \(batch)" }
    }

    static let forwardTarget = Target.sgemmFraction(0.70)
    static let backwardTarget = Target.sgemmFraction(0.60)

    static func run(cases: [Case], policy: TimingPolicy) -> [CaseResult] {
        Report.printHeader("conv2d (3×3, padding 1)")
        var results: [CaseResult] = []
        for convolution in cases {
            for result in run(convolution, policy: policy) {
                Report.printRow(result)
                results.append(result)
            }
        }
        return results
    }

    private static func run(_ convolution: Case, policy: TimingPolicy) -> [CaseResult] {
        let (n, c, s) = (convolution.batch, convolution.channels, convolution.size)
        let patch = c * 9
        let positions = s * s
        let input = Tensor.randomUniform([n, c, s, s], low: -1, high: 1, seed: 3, requiresGradient: true)
        let weight = Tensor.randomUniform([c, c, 3, 3], low: -0.05, high: 0.05, seed: 4, requiresGradient: true)
        let seed = Tensor.randomUniform([n, c, s, s], low: -1, high: 1, seed: 5)

        // Forward: per image [O, C·9] × [C·9, H·W].
        let forwardReference = SgemmReference([GemmShape(m: c, n: positions, k: patch, repeats: n)])
        let forwardTimes = measurePair(
            policy, { withoutGradients { keepAlive(conv2d(input, weight: weight, padding: (1, 1))) } },
            reference: forwardReference.run)
        let output = withoutGradients { conv2d(input, weight: weight, padding: (1, 1)) }
        Verification.check("conv2d \(convolution.label)", output) { index in
            let (image, o, y, x) = (index[0], index[1], index[2], index[3])
            var total = 0.0
            for channel in 0..<c {
                for ky in 0..<3 where (0..<s).contains(y + ky - 1) {
                    for kx in 0..<3 where (0..<s).contains(x + kx - 1) {
                        let pixel = Verification.element(input, [image, channel, y + ky - 1, x + kx - 1])
                        total += Double(Verification.element(weight, [o, channel, ky, kx])) * Double(pixel)
                    }
                }
            }
            return total
        }
        let forward = CaseResult(
            group: "conv2d", name: "conv2d fwd \(convolution.label)", seconds: forwardTimes.seconds,
            flops: forwardReference.flops, sgemmGFLOPS: forwardReference.flops / forwardTimes.referenceSeconds / 1e9,
            target: forwardTarget)

        // Backward (input and weight gradients): per image dW += dY[O, HW] · colsᵀ and
        // dcols = Wᵀ[C·9, O] · dY[O, HW]. Only `backward` is timed; the forward that records the graph is not.
        let backwardReference = SgemmReference([
            GemmShape(m: c, n: patch, k: positions, transposeB: true, repeats: n),
            GemmShape(m: patch, n: positions, k: c, transposeA: true, repeats: n),
        ])
        let backwardTimes = measurePair(
            policy,
            prepare: { () -> Tensor in
                input.zeroGradient()
                weight.zeroGradient()
                return conv2d(input, weight: weight, padding: (1, 1))
            },
            { output in output.backward(seed: seed) }, reference: backwardReference.run)
        let backward = CaseResult(
            group: "conv2d", name: "conv2d bwd \(convolution.label)", seconds: backwardTimes.seconds,
            flops: backwardReference.flops,
            sgemmGFLOPS: backwardReference.flops / backwardTimes.referenceSeconds / 1e9, target: backwardTarget)
        return [forward, backward]
    }
}
