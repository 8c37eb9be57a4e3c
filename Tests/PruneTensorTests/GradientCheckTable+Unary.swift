import PruneTensor

// Every UnaryFunction, each over a domain where it is smooth and well conditioned.

extension GradientCheckTable {
    static let unary: [GradientCase] =
        UnaryFunction.allCases.map { function in
            GradientCase(
                "unary \(function.rawValue)",
                options: [.abs, .relu].contains(function) ? .nonSmooth : GradientCheckOptions(),
                inputs: { m in [m.leaf([2, 5], in: domain(of: function), awayFrom: kinks(of: function))] }
            ) { $0[0].applying(function) }
        } + [
            // Above PyTorch's threshold softplus is the identity; around it both branches must agree.
            GradientCase("unary softplus around its threshold of 20", inputs: { m in [m.leaf([2, 4], in: 17...23)] }) {
                $0[0].softplus()
            },
            GradientCase("named activations: gelu(approximateWithTanh:), silu, sigmoid", inputs: { m in [m.leaf([2, 3], in: -2...2)] }) {
                $0[0].gelu() + $0[0].gelu(approximateWithTanh: true) * $0[0].silu().sigmoid()
            },
        ]

    static func domain(of function: UnaryFunction) -> ClosedRange<Float> {
        switch function {
        case .log, .sqrt, .rsqrt, .reciprocal: 0.5...2
        case .exp: -1...1
        default: -2...2
        }
    }

    static func kinks(of function: UnaryFunction) -> [Float] {
        [.abs, .relu].contains(function) ? [0] : []
    }
}
