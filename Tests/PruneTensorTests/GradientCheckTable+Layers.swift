import Foundation
import PruneTensor

// Normalisations, softmax, attention, rotary embedding and the loss.

extension GradientCheckTable {
    static let layers: [GradientCase] = [
        GradientCase(
            "groupNorm, 2 groups, with affine", inputs: { m in [m.leaf([2, 4, 3, 3]), m.leaf([4], in: 0.5...1.5), m.leaf([4])] }
        ) { groupNorm($0[0], groups: 2, weight: $0[1], bias: $0[2]) },
        GradientCase("groupNorm, 3 groups, no affine, [N, C, L]", inputs: { m in [m.leaf([2, 6, 5])] }) {
            groupNorm($0[0], groups: 3)
        },
        GradientCase("groupNorm, one channel per group, weight only", inputs: { m in [m.leaf([2, 4, 2, 2]), m.leaf([4])] }) {
            groupNorm($0[0], groups: 4, weight: $0[1])
        },
        GradientCase("groupNorm of a permuted input", inputs: { m in [m.leaf([2, 3, 3, 4]), m.leaf([4]), m.leaf([4])] }) {
            groupNorm($0[0].permuted([0, 3, 1, 2]), groups: 2, weight: $0[1], bias: $0[2])
        },
        GradientCase("layerNorm with affine", inputs: { m in [m.leaf([2, 3, 5]), m.leaf([5], in: 0.5...1.5), m.leaf([5])] }) {
            layerNorm($0[0], weight: $0[1], bias: $0[2])
        },
        GradientCase("layerNorm without affine", inputs: { m in [m.leaf([4, 6])] }) { layerNorm($0[0]) },
        GradientCase("layerNorm with bias only, of a transposed view", inputs: { m in [m.leaf([5, 3]), m.leaf([5])] }) {
            layerNorm($0[0].transposed(), bias: $0[1])
        },
        GradientCase("rmsNorm with weight", inputs: { m in [m.leaf([2, 3, 6]), m.leaf([6])] }) { rmsNorm($0[0], weight: $0[1]) },
        GradientCase("rmsNorm without weight", inputs: { m in [m.leaf([3, 4])] }) { rmsNorm($0[0]) },
        GradientCase("softmax along the last axis", inputs: { m in [m.leaf([2, 3, 4], in: -2...2)] }) { $0[0].softmax() },
        GradientCase("softmax along a middle axis", inputs: { m in [m.leaf([2, 4, 3], in: -2...2)] }) { $0[0].softmax(axis: 1) },
        GradientCase("softmax along axis 0", inputs: { m in [m.leaf([3, 2], in: -2...2)] }) { $0[0].softmax(axis: 0) },
        GradientCase("logSoftmax along the last axis", inputs: { m in [m.leaf([2, 3, 4], in: -2...2)] }) { $0[0].logSoftmax() },
        GradientCase("logSoftmax along a middle axis", inputs: { m in [m.leaf([2, 4, 3], in: -2...2)] }) {
            $0[0].logSoftmax(axis: -2)
        },
        GradientCase(
            "attention with q, k, v permuted from [B, L, H, D], Lq 3 ≠ Lk 5, Dv 3",
            inputs: { m in [m.leaf([2, 3, 2, 4]), m.leaf([2, 5, 2, 4]), m.leaf([2, 5, 2, 3])] }
        ) { x in
            scaledDotProductAttention(
                query: x[0].permuted([0, 2, 1, 3]), key: x[1].permuted([0, 2, 1, 3]), value: x[2].permuted([0, 2, 1, 3]))
        },
        GradientCase(
            "attention on contiguous [B, H, L, D] with scale 0.7, Lq 3, Lk 2",
            inputs: { m in [m.normal([1, 2, 3, 4]), m.normal([1, 2, 2, 4]), m.normal([1, 2, 2, 4])] }
        ) { scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], scale: 0.7) },
        GradientCase(
            "attention output permuted back to tokens and heads merged",
            inputs: { m in [m.leaf([1, 4, 2, 3]), m.leaf([1, 3, 2, 3]), m.leaf([1, 3, 2, 3])] }
        ) { x in
            let (q, k, v) = (x[0].permuted([0, 2, 1, 3]), x[1].permuted([0, 2, 1, 3]), x[2].permuted([0, 2, 1, 3]))
            return scaledDotProductAttention(query: q, key: k, value: v).permuted([0, 2, 1, 3]).reshaped([1, 4, 6])
        },
        GradientCase(
            "attention with a constant key and a single query",
            inputs: { m in [m.leaf([1, 1, 1, 4]), m.constant([1, 1, 3, 4]), m.leaf([1, 1, 3, 2])] }
        ) { scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2]) },
        GradientCase(
            "applyRotaryEmbedding on [1, 2, 3, 4]",
            inputs: { m in [m.leaf([1, 2, 3, 4])] + rotaryTables(length: 3, depth: 4) }
        ) { applyRotaryEmbedding($0[0], cos: $0[1], sin: $0[2]) },
        GradientCase(
            "applyRotaryEmbedding on a permuted [B, L, H, D] view",
            inputs: { m in [m.leaf([2, 3, 2, 6])] + rotaryTables(length: 3, depth: 6) }
        ) { applyRotaryEmbedding($0[0].permuted([0, 2, 1, 3]), cos: $0[1], sin: $0[2]) },
        GradientCase("meanSquaredError of two trainable tensors", inputs: { m in [m.leaf([2, 3]), m.leaf([2, 3])] }) {
            meanSquaredError($0[0], $0[1])
        },
        GradientCase("meanSquaredError against a constant target, of a view", inputs: { m in [m.leaf([3, 2]), m.constant([2, 3])] }) {
            meanSquaredError($0[0].transposed(), $0[1])
        },
    ]

    /// FLUX-style rotary tables `[length, depth]`: angle `position · 10000^(−2i/depth)` repeated for both
    /// members of each pair. Constants (no gradient).
    static func rotaryTables(length: Int, depth: Int) -> [Tensor] {
        var cosines: [Float] = []
        var sines: [Float] = []
        for position in 0..<length {
            for d in 0..<depth {
                let frequency = Foundation.pow(10_000, -Double(2 * (d / 2)) / Double(depth))
                let angle = Double(position + 1) * frequency
                cosines.append(Float(Foundation.cos(angle)))
                sines.append(Float(Foundation.sin(angle)))
            }
        }
        return [Tensor(cosines, shape: [length, depth]), Tensor(sines, shape: [length, depth])]
    }
}
