import PruneTensor

// Broadcasting binary ops, scalar ops, pow and clamp.

extension GradientCheckTable {
    static let elementwise: [GradientCase] = [
        // add
        GradientCase("a + b, same shape [2, 3]", inputs: { m in [m.leaf([2, 3]), m.leaf([2, 3])] }) { $0[0] + $0[1] },
        GradientCase("a + b, [3, 1, 4] + [2, 1]", inputs: { m in [m.leaf([3, 1, 4]), m.leaf([2, 1])] }) { $0[0] + $0[1] },
        GradientCase("a + b, [2, 3] + scalar-shaped [1]", inputs: { m in [m.leaf([2, 3]), m.leaf([1])] }) { $0[0] + $0[1] },
        GradientCase("a + b, [2, 3] + rank-0", inputs: { m in [m.leaf([2, 3]), m.leaf([])] }) { $0[0] + $0[1] },
        GradientCase("a + b, rank-0 + rank-0", inputs: { m in [m.leaf([]), m.leaf([])] }) { $0[0] + $0[1] },
        GradientCase("a + b, [4, 1] + [1, 5] (both broadcast)", inputs: { m in [m.leaf([4, 1]), m.leaf([1, 5])] }) {
            $0[0] + $0[1]
        },
        // subtract
        GradientCase("a - b, [3, 1, 4] - [2, 1]", inputs: { m in [m.leaf([3, 1, 4]), m.leaf([2, 1])] }) { $0[0] - $0[1] },
        GradientCase("a - b, rank-0 - [2, 3]", inputs: { m in [m.leaf([]), m.leaf([2, 3])] }) { $0[0] - $0[1] },
        GradientCase("a - b, [2, 1] - [3, 1, 4]", inputs: { m in [m.leaf([2, 1]), m.leaf([3, 1, 4])] }) { $0[0] - $0[1] },
        // multiply
        GradientCase("a * b, [3, 1, 4] * [2, 1]", inputs: { m in [m.leaf([3, 1, 4]), m.leaf([2, 1])] }) { $0[0] * $0[1] },
        GradientCase("a * b, scalar-shaped [1] * [2, 3]", inputs: { m in [m.leaf([1]), m.leaf([2, 3])] }) { $0[0] * $0[1] },
        GradientCase("a * b, [2, 3] * rank-0", inputs: { m in [m.leaf([2, 3]), m.leaf([])] }) { $0[0] * $0[1] },
        GradientCase("x * x (one tensor used twice)", inputs: { m in [m.leaf([2, 3])] }) { $0[0] * $0[0] },
        GradientCase(
            "a * b, transposed view [3, 2] * broadcast row [2]", inputs: { m in [m.leaf([2, 3]), m.leaf([2])] }
        ) { $0[0].transposed() * $0[1] },
        GradientCase("a * b with b constant", inputs: { m in [m.leaf([2, 3]), m.constant([3])] }) { $0[0] * $0[1] },
        // divide (denominators kept away from zero)
        GradientCase(
            "a / b, [3, 1, 4] / [2, 1]", inputs: { m in [m.leaf([3, 1, 4]), m.leaf([2, 1], in: 0.5...1.5)] }
        ) { $0[0] / $0[1] },
        GradientCase("a / b, rank-0 / [2, 3]", inputs: { m in [m.leaf([]), m.leaf([2, 3], in: 0.5...1.5)] }) {
            $0[0] / $0[1]
        },
        GradientCase("a / b, [2, 3] / scalar-shaped [1]", inputs: { m in [m.leaf([2, 3]), m.leaf([1], in: 0.5...1.5)] }) {
            $0[0] / $0[1]
        },
        GradientCase("a / b, [2, 3] / [2, 3] with a constant", inputs: { m in [m.constant([2, 3]), m.leaf([2, 3], in: 0.5...1.5)] }) {
            $0[0] / $0[1]
        },
        // Scalar operands on both sides.
        GradientCase("x + 2", inputs: { m in [m.leaf([2, 3])] }) { $0[0] + 2 },
        GradientCase("2 + x", inputs: { m in [m.leaf([2, 3])] }) { 2 + $0[0] },
        GradientCase("x - 3", inputs: { m in [m.leaf([2, 3])] }) { $0[0] - 3 },
        GradientCase("3 - x", inputs: { m in [m.leaf([2, 3])] }) { 3 - $0[0] },
        GradientCase("x * 1.5", inputs: { m in [m.leaf([2, 3])] }) { $0[0] * 1.5 },
        GradientCase("1.5 * x", inputs: { m in [m.leaf([2, 3])] }) { 1.5 * $0[0] },
        GradientCase("x / 4", inputs: { m in [m.leaf([2, 3])] }) { $0[0] / 4 },
        GradientCase("4 / x", inputs: { m in [m.leaf([2, 3], in: 0.5...2)] }) { 4 / $0[0] },
        GradientCase("-x (prefix minus)", inputs: { m in [m.leaf([2, 3])] }) { -$0[0] },
        // pow
        GradientCase("x.pow(2)", inputs: { m in [m.leaf([2, 3], in: -2...2)] }) { $0[0].pow(2) },
        GradientCase("x.pow(3)", inputs: { m in [m.leaf([2, 3], in: -2...2)] }) { $0[0].pow(3) },
        GradientCase("x.pow(0.5)", inputs: { m in [m.leaf([2, 3], in: 0.5...2)] }) { $0[0].pow(0.5) },
        GradientCase("x.pow(-1.5)", inputs: { m in [m.leaf([2, 3], in: 0.5...2)] }) { $0[0].pow(-1.5) },
        // clamp: inputs avoid the bounds.
        GradientCase(
            "x.clamped(to: -0.5...0.5)", options: .nonSmooth,
            inputs: { m in [m.leaf([3, 4], in: -1...1, awayFrom: [-0.5, 0.5])] }
        ) { $0[0].clamped(to: -0.5...0.5) },
    ]
}
