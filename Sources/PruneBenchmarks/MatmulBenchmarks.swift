import PruneTensor

/// `matmul(a, b)` on square matrices against raw `cblas_sgemm` on the same buffers.
enum MatmulBenchmarks {
    /// Fraction of raw sgemm throughput `matmul` must reach.
    static let target = Target.sgemmFraction(0.95)

    static func run(sizes: [Int], policy: TimingPolicy) -> [CaseResult] {
        Report.printHeader("matmul")
        return sizes.map { size in
            let result = run(size: size, policy: policy)
            Report.printRow(result)
            return result
        }
    }

    private static func run(size: Int, policy: TimingPolicy) -> CaseResult {
        let a = Tensor.randomUniform([size, size], low: -1, high: 1, seed: 1)
        let b = Tensor.randomUniform([size, size], low: -1, high: 1, seed: 2)
        let shape = GemmShape(m: size, n: size, k: size)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: size * size)
        defer { c.deallocate() }
        let (engineSeconds, rawSeconds) = measurePair(
            policy, { keepAlive(matmul(a, b)) }, reference: { rawSgemm(shape, a.basePointer, b.basePointer, c) })

        Verification.check("matmul \(size)", matmul(a, b)) { index in
            (0..<size).reduce(0.0) { $0 + Double(a.basePointer[index[0] * size + $1]) * Double(b.basePointer[$1 * size + index[1]]) }
        }
        return CaseResult(
            group: "matmul", name: "matmul \(size)×\(size)·\(size)×\(size)", seconds: engineSeconds,
            flops: shape.flops, sgemmGFLOPS: shape.flops / rawSeconds / 1e9, target: target)
    }
}
