import PruneTensor

// matmul (2-D, batched, broadcast batches, transposed views), linear and conv2d.

extension GradientCheckTable {
    static let linearAlgebra: [GradientCase] = [
        GradientCase("matmul [3, 4] · [4, 2]", inputs: { m in [m.leaf([3, 4]), m.leaf([4, 2])] }) { matmul($0[0], $0[1]) },
        GradientCase("matmul batched [2, 3, 4] · [2, 4, 5]", inputs: { m in [m.leaf([2, 3, 4]), m.leaf([2, 4, 5])] }) {
            matmul($0[0], $0[1])
        },
        GradientCase("matmul broadcast batch [2, 3, 4, 5] · [5, 6]", inputs: { m in [m.leaf([2, 3, 4, 5]), m.leaf([5, 6])] }) {
            matmul($0[0], $0[1])
        },
        GradientCase("matmul broadcast batch [3, 4] · [2, 4, 5]", inputs: { m in [m.leaf([3, 4]), m.leaf([2, 4, 5])] }) {
            matmul($0[0], $0[1])
        },
        GradientCase("matmul broadcast batch [2, 1, 3, 4] · [3, 4, 2]", inputs: { m in [m.leaf([2, 1, 3, 4]), m.leaf([3, 4, 2])] }) {
            matmul($0[0], $0[1])
        },
        GradientCase("matmul of transposed views [4, 3]ᵀ · [5, 4]ᵀ", inputs: { m in [m.leaf([4, 3]), m.leaf([5, 4])] }) {
            matmul($0[0].transposed(), $0[1].transposed())
        },
        GradientCase("matmul batched, transposed views [2, 4, 3]ᵀ · [2, 5, 4]ᵀ", inputs: { m in [m.leaf([2, 4, 3]), m.leaf([2, 5, 4])] }) {
            matmul($0[0].transposed(), $0[1].transposed())
        },
        GradientCase("matmul of a transposed batched view with a 2-D matrix", inputs: { m in [m.leaf([2, 4, 3]), m.leaf([4, 2])] }) {
            matmul($0[0].transposed(), $0[1])
        },
        GradientCase("matmul with a single row and column [1, 4] · [4, 1]", inputs: { m in [m.leaf([1, 4]), m.leaf([4, 1])] }) {
            matmul($0[0], $0[1])
        },
        GradientCase("linear with bias", inputs: { m in [m.leaf([3, 4]), m.leaf([5, 4]), m.leaf([5])] }) {
            linear($0[0], weight: $0[1], bias: $0[2])
        },
        GradientCase("linear without bias", inputs: { m in [m.leaf([3, 4]), m.leaf([5, 4])] }) {
            linear($0[0], weight: $0[1])
        },
        GradientCase("linear with a 3-D input [2, 3, 4]", inputs: { m in [m.leaf([2, 3, 4]), m.leaf([5, 4]), m.leaf([5])] }) {
            linear($0[0], weight: $0[1], bias: $0[2])
        },
        GradientCase("linear with a transposed-view weight", inputs: { m in [m.leaf([3, 4]), m.leaf([4, 5]), m.leaf([5])] }) {
            linear($0[0], weight: $0[1].transposed(), bias: $0[2])
        },
        GradientCase("linear with a frozen weight", inputs: { m in [m.leaf([2, 4]), m.constant([3, 4]), m.leaf([3])] }) {
            linear($0[0], weight: $0[1], bias: $0[2])
        },
        GradientCase("linear of a permuted input", inputs: { m in [m.leaf([4, 3]), m.leaf([2, 4])] }) {
            linear($0[0].transposed(), weight: $0[1])
        },
        GradientCase(
            "conv2d 3×3, stride 1, padding 0, with bias, batch 2",
            inputs: { m in [m.leaf([2, 3, 5, 5]), m.leaf([4, 3, 3, 3]), m.leaf([4])] }
        ) { conv2d($0[0], weight: $0[1], bias: $0[2]) },
        GradientCase(
            "conv2d 3×3, stride 2, padding 1, no bias, batch 2",
            inputs: { m in [m.leaf([2, 2, 5, 5]), m.leaf([3, 2, 3, 3])] }
        ) { conv2d($0[0], weight: $0[1], stride: (2, 2), padding: (1, 1)) },
        GradientCase(
            "conv2d 3×3, stride 1, padding 1, with bias",
            inputs: { m in [m.leaf([2, 2, 4, 4]), m.leaf([3, 2, 3, 3]), m.leaf([3])] }
        ) { conv2d($0[0], weight: $0[1], bias: $0[2], padding: (1, 1)) },
        GradientCase(
            "conv2d 1×1, with bias, batch 2",
            inputs: { m in [m.leaf([2, 3, 4, 4]), m.leaf([5, 3, 1, 1]), m.leaf([5])] }
        ) { conv2d($0[0], weight: $0[1], bias: $0[2]) },
        GradientCase(
            "conv2d 1×1, stride 2, no bias",
            inputs: { m in [m.leaf([2, 3, 5, 5]), m.leaf([2, 3, 1, 1])] }
        ) { conv2d($0[0], weight: $0[1], stride: (2, 2)) },
        GradientCase(
            "conv2d 2×3 kernel, stride (2, 1), padding (0, 1)",
            inputs: { m in [m.leaf([2, 2, 5, 4]), m.leaf([3, 2, 2, 3]), m.leaf([3])] }
        ) { conv2d($0[0], weight: $0[1], bias: $0[2], stride: (2, 1), padding: (0, 1)) },
        GradientCase(
            "conv2d with a frozen weight and a permuted input",
            inputs: { m in [m.leaf([2, 4, 4, 3]), m.constant([2, 3, 3, 3]), m.leaf([2])] }
        ) { conv2d($0[0].permuted([0, 3, 1, 2]), weight: $0[1], bias: $0[2], padding: (1, 1)) },
    ]
}
