import PruneTensor
import Testing

/// One entry of the gradient-check table: how to draw its inputs and the graph to differentiate.
struct GradientCase: Sendable, CustomTestStringConvertible {
    /// What the entry builds, e.g. "conv2d, stride 2, padding 1, no bias".
    let name: String
    /// Draws the leaves (those without `requiresGradient` are constants).
    let inputs: @Sendable (inout InputMaker) -> [Tensor]
    /// The graph under test.
    let forward: @Sendable ([Tensor]) -> Tensor
    /// Step and tolerances.
    let options: GradientCheckOptions

    init(
        _ name: String, options: GradientCheckOptions = GradientCheckOptions(),
        inputs: @escaping @Sendable (inout InputMaker) -> [Tensor],
        forward: @escaping @Sendable ([Tensor]) -> Tensor
    ) {
        self.name = name
        self.options = options
        self.inputs = inputs
        self.forward = forward
    }

    /// Fresh inputs drawn from a generator seeded by the entry's name (stable across runs).
    func makeInputs() -> [Tensor] {
        var maker = InputMaker(seed: stableSeed(name))
        return inputs(&maker)
    }

    var testDescription: String { name }
}

extension GradientCheckOptions {
    /// Options for ops with kinks (abs, relu, clamp, max): inputs are drawn away from the kinks and the
    /// few points that still straddle one are skipped.
    static var nonSmooth: GradientCheckOptions {
        var options = GradientCheckOptions()
        options.skipsNonSmoothPoints = true
        return options
    }
}
