import Foundation

// Element-wise arithmetic with NumPy broadcasting, scalar operations and activation functions.

extension Tensor {
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        recorded(Kernels.binary(AddFunctor.self, a, b), from: [a, b], .add(a, b))
    }
    public static func - (a: Tensor, b: Tensor) -> Tensor {
        recorded(Kernels.binary(SubtractFunctor.self, a, b), from: [a, b], .subtract(a, b))
    }
    public static func * (a: Tensor, b: Tensor) -> Tensor {
        recorded(Kernels.binary(MultiplyFunctor.self, a, b), from: [a, b], .multiply(a, b))
    }
    public static func / (a: Tensor, b: Tensor) -> Tensor {
        recorded(Kernels.binary(DivideFunctor.self, a, b), from: [a, b], .divide(a, b))
    }

    public static func + (a: Tensor, s: Float) -> Tensor {
        recorded(Kernels.map(a) { $0 + s }, from: [a], .addScalar(a))
    }
    public static func + (s: Float, a: Tensor) -> Tensor { a + s }
    public static func - (a: Tensor, s: Float) -> Tensor { a + (-s) }
    public static func - (s: Float, a: Tensor) -> Tensor { (-a) + s }
    public static func * (a: Tensor, s: Float) -> Tensor {
        recorded(Kernels.map(a) { $0 * s }, from: [a], .multiplyScalar(a, s))
    }
    public static func * (s: Float, a: Tensor) -> Tensor { a * s }
    public static func / (a: Tensor, s: Float) -> Tensor { a * (1 / s) }
    public static func / (s: Float, a: Tensor) -> Tensor { a.reciprocal() * s }
    public static prefix func - (a: Tensor) -> Tensor { a.applying(.negate) }

    /// Applies an element-wise ``UnaryFunction``.
    public func applying(_ function: UnaryFunction) -> Tensor {
        Tensor.recorded(Kernels.unary(function, self), from: [self], .unary(self, function))
    }

    public func exp() -> Tensor { applying(.exp) }
    public func log() -> Tensor { applying(.log) }
    public func sqrt() -> Tensor { applying(.sqrt) }
    public func rsqrt() -> Tensor { applying(.rsqrt) }
    public func reciprocal() -> Tensor { applying(.reciprocal) }
    public func abs() -> Tensor { applying(.abs) }
    public func relu() -> Tensor { applying(.relu) }
    public func sigmoid() -> Tensor { applying(.sigmoid) }
    public func tanh() -> Tensor { applying(.tanh) }
    /// `x · sigmoid(x)`.
    public func silu() -> Tensor { applying(.silu) }
    /// GELU; `approximateWithTanh` selects PyTorch's `approximate="tanh"` form.
    public func gelu(approximateWithTanh: Bool = false) -> Tensor {
        applying(approximateWithTanh ? .geluTanh : .geluErf)
    }
    /// `log(1 + eˣ)` (PyTorch's threshold of 20).
    public func softplus() -> Tensor { applying(.softplus) }

    /// `xᵖ` for a constant exponent.
    public func pow(_ exponent: Float) -> Tensor {
        let result: Tensor
        if exponent == 2 {
            result = Kernels.map(self) { $0 * $0 }
        } else {
            result = Kernels.map(self) { Foundation.pow($0, exponent) }
        }
        return Tensor.recorded(result, from: [self], .power(self, exponent: exponent))
    }

    /// Limits every element to `lower...upper`; the gradient passes where the input lies inside (inclusive).
    public func clamped(to range: ClosedRange<Float>) -> Tensor {
        let lower = range.lowerBound
        let upper = range.upperBound
        return Tensor.recorded(
            Kernels.map(self) { Swift.min(Swift.max($0, lower), upper) }, from: [self],
            .clamp(self, lower: lower, upper: upper))
    }
}
