import Foundation
import PruneTensor

/// `scaledDotProductAttention` forward and backward against raw sgemm on the per-head GEMMs.
///
/// Query, key and value are `[B, L, H, D]` tensors permuted to `[B, H, L, D]`, as a model passes them after
/// splitting a projection into heads.
enum AttentionBenchmarks {
    struct Case: Sendable {
        let batch, heads, depth, tokens: Int
        var label: String { "\(heads) heads × \(depth) dims, \(tokens) tokens, batch \(batch)" }
    }

    static let forwardTarget = Target.sgemmFraction(0.60)
    /// The brief sets no backward target; the forward's is used.
    static let backwardTarget = Target.sgemmFraction(0.60)

    static func run(cases: [Case], policy: TimingPolicy) -> [CaseResult] {
        Report.printHeader("attention (q/k/v as permuted [B, L, H, D] views)")
        var results: [CaseResult] = []
        for attention in cases {
            for result in run(attention, policy: policy) {
                Report.printRow(result)
                results.append(result)
            }
        }
        return results
    }

    private static func run(_ attention: Case, policy: TimingPolicy) -> [CaseResult] {
        let (b, h, d, l) = (attention.batch, attention.heads, attention.depth, attention.tokens)
        let tokensMajor = [b, l, h, d]
        let leaves = (1...3).map {
            Tensor.randomUniform(tokensMajor, low: -1, high: 1, seed: UInt64(10 + $0), requiresGradient: true)
        }
        let headsMajor = { (leaf: Tensor) in leaf.permuted([0, 2, 1, 3]) }
        let seed = Tensor.randomUniform([b, h, l, d], low: -1, high: 1, seed: 14)
        let heads = b * h

        // Forward per head: S = Q Kᵀ [L, D]·[D, L], then O = P V [L, L]·[L, D].
        let forwardReference = SgemmReference([
            GemmShape(m: l, n: l, k: d, transposeB: true, repeats: heads),
            GemmShape(m: l, n: d, k: l, repeats: heads),
        ])
        let forwardTimes = measurePair(
            policy,
            {
                withoutGradients {
                    keepAlive(
                        scaledDotProductAttention(
                            query: headsMajor(leaves[0]), key: headsMajor(leaves[1]), value: headsMajor(leaves[2])))
                }
            }, reference: forwardReference.run)
        let (q, k, v) = (headsMajor(leaves[0]), headsMajor(leaves[1]), headsMajor(leaves[2]))
        let output = withoutGradients { scaledDotProductAttention(query: q, key: k, value: v) }
        Verification.check("attention \(attention.label)", output) { index in
            let (batch, head, row, column) = (index[0], index[1], index[2], index[3])
            let scale = 1 / Double(d).squareRoot()
            let scores = (0..<l).map { key in
                scale * (0..<d).reduce(0.0) {
                    $0 + Double(Verification.element(q, [batch, head, row, $1]))
                        * Double(Verification.element(k, [batch, head, key, $1]))
                }
            }
            let largest = scores.max() ?? 0
            let weights = scores.map { Foundation.exp($0 - largest) }
            let total = weights.reduce(0, +)
            return (0..<l).reduce(0.0) {
                $0 + weights[$1] / total * Double(Verification.element(v, [batch, head, $1, column]))
            }
        }
        let forward = CaseResult(
            group: "attention", name: "attention fwd \(attention.label)", seconds: forwardTimes.seconds,
            flops: forwardReference.flops, sgemmGFLOPS: forwardReference.flops / forwardTimes.referenceSeconds / 1e9,
            target: forwardTarget)

        // Backward per head (the forward's scores are recomputed, not stored): S = Q Kᵀ, dV = Pᵀ dO,
        // dP = dO Vᵀ, dQ = dS K, dK = dSᵀ Q. Only `backward` is timed.
        let backwardReference = SgemmReference([
            GemmShape(m: l, n: l, k: d, transposeB: true, repeats: heads),
            GemmShape(m: l, n: d, k: l, transposeA: true, repeats: heads),
            GemmShape(m: l, n: l, k: d, transposeB: true, repeats: heads),
            GemmShape(m: l, n: d, k: l, repeats: heads),
            GemmShape(m: l, n: d, k: l, transposeA: true, repeats: heads),
        ])
        let backwardTimes = measurePair(
            policy,
            prepare: { () -> Tensor in
                for leaf in leaves { leaf.zeroGradient() }
                return scaledDotProductAttention(
                    query: headsMajor(leaves[0]), key: headsMajor(leaves[1]), value: headsMajor(leaves[2]))
            },
            { output in output.backward(seed: seed) }, reference: backwardReference.run)
        let backward = CaseResult(
            group: "attention", name: "attention bwd \(attention.label)", seconds: backwardTimes.seconds,
            flops: backwardReference.flops,
            sgemmGFLOPS: backwardReference.flops / backwardTimes.referenceSeconds / 1e9, target: backwardTarget)
        return [forward, backward]
    }
}
