import PruneTensor

/// diffusers' `FeedForward`: `net.0` (GEGLU or GELU projection), `net.2` (down projection).
///
/// GEGLU (SDXL): `net.0.proj` is `[2·inner, C]`; the first half of its output is the value and the second
/// the gate, `h = value · GELU_erf(gate)`. GELU-tanh (FLUX): `net.0.proj` is `[inner, C]`,
/// `h = GELU_tanh(proj(x))`. The neuron mask `[inner]` under the module key multiplies `h` before `net.2`.
public struct FeedForward {
    public enum Activation: Sendable { case geglu, geluTanh }

    public let moduleKey: String
    public let activation: Activation
    public let innerDimension: Int
    public let projectIn: Linear
    public let projectOut: Linear

    public init(_ scope: WeightScope, dimension: Int, innerDimension: Int, activation: Activation, outDimension: Int? = nil) {
        moduleKey = scope.prefix
        self.activation = activation
        self.innerDimension = innerDimension
        let projectedWidth = activation == .geglu ? 2 * innerDimension : innerDimension
        projectIn = Linear(scope.scoped("net.0.proj"), inFeatures: dimension, outFeatures: projectedWidth)
        projectOut = Linear(scope.scoped("net.2"), inFeatures: innerDimension, outFeatures: outDimension ?? dimension)
    }

    /// `[..., C]` → `[..., C]`.
    public func callAsFunction(_ x: Tensor, masks: UnitMasks = .none) -> Tensor {
        let projected = projectIn(x)
        var hidden: Tensor
        switch activation {
        case .geglu:
            let halves = projected.chunked(2, axis: -1)
            hidden = halves[0] * halves[1].gelu()
        case .geluTanh:
            hidden = projected.gelu(approximateWithTanh: true)
        }
        if let mask = masks[moduleKey] {
            precondition(mask.shape == [innerDimension], "FFN mask for \(moduleKey) must be [\(innerDimension)], got \(mask.shape)")
            hidden = hidden * mask
        }
        return projectOut(hidden)
    }
}
