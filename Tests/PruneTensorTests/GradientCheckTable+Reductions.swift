import PruneTensor

// sum, mean, max and variance over various axes, with and without kept dimensions.

extension GradientCheckTable {
    static let reductions: [GradientCase] = [
        GradientCase("sum over all axes", inputs: { m in [m.leaf([2, 3, 4])] }) { $0[0].sum() },
        GradientCase("sum over axis 1", inputs: { m in [m.leaf([2, 3, 4])] }) { $0[0].sum(axes: [1]) },
        GradientCase("sum over axis 1, keeping dimensions", inputs: { m in [m.leaf([2, 3, 4])] }) {
            $0[0].sum(axes: [1], keepingDimensions: true)
        },
        GradientCase("sum over axes 0 and 2, keeping dimensions", inputs: { m in [m.leaf([2, 3, 4])] }) {
            $0[0].sum(axes: [0, 2], keepingDimensions: true)
        },
        GradientCase("sum over axis -1", inputs: { m in [m.leaf([2, 3, 4])] }) { $0[0].sum(axes: [-1]) },
        GradientCase("sum of a rank-0 tensor", inputs: { m in [m.leaf([])] }) { $0[0].sum() * 3 },
        GradientCase("sum over axis 0 of a transposed view", inputs: { m in [m.leaf([3, 4])] }) {
            $0[0].transposed().sum(axes: [0])
        },
        GradientCase("mean over all axes", inputs: { m in [m.leaf([2, 3, 4])] }) { $0[0].mean() },
        GradientCase("mean over axis 0", inputs: { m in [m.leaf([2, 3, 4])] }) { $0[0].mean(axes: [0]) },
        GradientCase("mean over axes 1 and 2, keeping dimensions", inputs: { m in [m.leaf([2, 3, 4])] }) {
            $0[0].mean(axes: [1, 2], keepingDimensions: true)
        },
        GradientCase("mean over axis -2", inputs: { m in [m.leaf([2, 3, 4])] }) { $0[0].mean(axes: [-2]) },
        GradientCase("max over all axes", options: .nonSmooth, inputs: { m in [m.distinct([2, 3, 4])] }) { $0[0].max() },
        GradientCase("max over axis 1", options: .nonSmooth, inputs: { m in [m.distinct([2, 3, 4])] }) {
            $0[0].max(axes: [1])
        },
        GradientCase("max over axis 1, keeping dimensions", options: .nonSmooth, inputs: { m in [m.distinct([2, 3, 4])] }) {
            $0[0].max(axes: [1], keepingDimensions: true)
        },
        GradientCase("max over axes 0 and 2", options: .nonSmooth, inputs: { m in [m.distinct([2, 3, 4])] }) {
            $0[0].max(axes: [0, 2])
        },
        GradientCase("max over axis -1 of a permuted view", options: .nonSmooth, inputs: { m in [m.distinct([3, 4])] }) {
            $0[0].transposed().max(axes: [-1], keepingDimensions: true)
        },
        GradientCase("variance over all axes", inputs: { m in [m.leaf([2, 3, 4])] }) { $0[0].variance() },
        GradientCase("variance over axis 1, unbiased", inputs: { m in [m.leaf([2, 3, 4])] }) {
            $0[0].variance(axes: [1], correction: 1)
        },
        GradientCase("variance over axes 0 and 2, keeping dimensions", inputs: { m in [m.leaf([2, 3, 4])] }) {
            $0[0].variance(axes: [0, 2], keepingDimensions: true)
        },
        GradientCase("variance over axis -1, unbiased, keeping dimensions", inputs: { m in [m.leaf([2, 3, 4])] }) {
            $0[0].variance(axes: [-1], correction: 1, keepingDimensions: true)
        },
    ]
}
