import PruneTensor

// Views and copies: reshape, contiguous, permute/transpose, slice, split/chunk, index-select,
// concatenate, pad and nearest upsampling.

extension GradientCheckTable {
    static let shape: [GradientCase] = [
        GradientCase("reshaped [2, 3, 4] → [6, 4]", inputs: { m in [m.leaf([2, 3, 4])] }) { $0[0].reshaped([6, 4]) },
        GradientCase("reshaped with a wildcard → [4, -1]", inputs: { m in [m.leaf([2, 3, 4])] }) { $0[0].reshaped([4, -1]) },
        GradientCase("reshaped of a permuted view (copies first)", inputs: { m in [m.leaf([2, 3, 4])] }) {
            $0[0].permuted([1, 0, 2]).reshaped([3, 8])
        },
        GradientCase("contiguous copy of a permuted tensor", inputs: { m in [m.leaf([2, 3, 4])] }) {
            $0[0].permuted([2, 0, 1]).contiguous()
        },
        GradientCase("permuted [1, 2, 0] (a view)", inputs: { m in [m.leaf([2, 3, 4])] }) { $0[0].permuted([1, 2, 0]) },
        GradientCase("transposed(0, 2)", inputs: { m in [m.leaf([2, 3, 4])] }) { $0[0].transposed(0, 2) },
        GradientCase("transposed() of the last two axes, then a product", inputs: { m in [m.leaf([2, 3, 4]), m.leaf([4, 3])] }) {
            $0[0].transposed() * $0[1]
        },
        GradientCase("sliced along axis 1", inputs: { m in [m.leaf([2, 4, 3])] }) { $0[0].sliced(axis: 1, 1..<3) },
        GradientCase("sliced along axis -1 of a transposed view", inputs: { m in [m.leaf([5, 3])] }) {
            $0[0].transposed().sliced(axis: -1, 2..<5)
        },
        GradientCase("split into [1, 2, 1] along axis 1 and rejoined in another order", inputs: { m in [m.leaf([2, 4, 3])] }) {
            let parts = $0[0].split(sizes: [1, 2, 1], axis: 1)
            return concatenate([parts[2] * 2, parts[0], parts[1] * -1], axis: 1)
        },
        GradientCase("chunked into 2 along axis 0, chunks multiplied", inputs: { m in [m.leaf([4, 3])] }) {
            let chunks = $0[0].chunked(2, axis: 0)
            return chunks[0] * chunks[1]
        },
        GradientCase("chunked into 3 along axis -1", inputs: { m in [m.leaf([2, 6])] }) {
            let chunks = $0[0].chunked(3, axis: -1)
            return chunks[0] + chunks[1] * chunks[2]
        },
        GradientCase("indexSelect along axis 1 with repeated indices", inputs: { m in [m.leaf([2, 3, 4])] }) {
            $0[0].indexSelect(axis: 1, indices: [2, 0, 2, 2])
        },
        GradientCase("indexSelect along axis 0 of a transposed view", inputs: { m in [m.leaf([3, 2])] }) {
            $0[0].transposed().indexSelect(axis: 0, indices: [1, 1, 0])
        },
        GradientCase("concatenate 3 parts along the middle axis", inputs: { m in [m.leaf([2, 1, 3]), m.leaf([2, 2, 3]), m.leaf([2, 3, 3])] }) {
            concatenate($0, axis: 1)
        },
        GradientCase("concatenate one tensor twice along axis 0", inputs: { m in [m.leaf([2, 3])] }) {
            concatenate([$0[0], $0[0]], axis: 0)
        },
        GradientCase("concatenate with a constant part", inputs: { m in [m.leaf([2, 3]), m.constant([2, 2])] }) {
            concatenate([$0[1], $0[0]], axis: -1)
        },
        GradientCase("padded [(1, 2), (0, 1)]", inputs: { m in [m.leaf([2, 3])] }) { $0[0].padded([(1, 2), (0, 1)]) },
        GradientCase("padded spatially with value 0.5", inputs: { m in [m.leaf([1, 2, 2, 3])] }) {
            $0[0].padded([(0, 0), (0, 0), (1, 1), (2, 0)], value: 0.5)
        },
        GradientCase("upsampledNearest2x", inputs: { m in [m.leaf([1, 2, 2, 3])] }) { $0[0].upsampledNearest2x() },
        GradientCase("upsampledNearest to a size that is not a multiple", inputs: { m in [m.leaf([1, 2, 3, 4])] }) {
            $0[0].upsampledNearest(height: 5, width: 7)
        },
        GradientCase("upsampledNearest2x of a permuted view", inputs: { m in [m.leaf([2, 3, 2, 1])] }) {
            $0[0].permuted([3, 0, 1, 2]).upsampledNearest2x()
        },
    ]
}
