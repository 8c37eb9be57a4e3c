import PruneKit
import PruneTensor

/// Largest `|a − b| / |b|` over paired elements (`|a − b|` where `b = 0`): the schedule comparison metric.
func maxRelativeError(_ actual: [Float], _ expected: [Double]) -> Double {
    precondition(actual.count == expected.count, "lengths differ: \(actual.count) vs \(expected.count)")
    return zip(actual, expected).reduce(0) { worst, pair in
        let (a, b) = (Double(pair.0), pair.1)
        let error = b == 0 ? abs(a) : abs(a - b) / abs(b)
        return max(worst, error.isNaN ? .infinity : error)
    }
}

/// A 1-D tensor of `values` (shape `[values.count]`).
func vector(_ values: [Double], requiresGradient: Bool = false) -> Tensor {
    Tensor(values.map { Float($0) }, shape: [values.count], requiresGradient: requiresGradient)
}

/// A tensor of `shape` filled with `value(i)` at flat index `i`.
func tensor(_ shape: [Int], requiresGradient: Bool = false, _ value: (Int) -> Float) -> Tensor {
    Tensor((0..<shape.reduce(1, *)).map(value), shape: shape, requiresGradient: requiresGradient)
}

/// `max|a − b| / max|b|`: the error relative to the reference's overall scale.
func scaledError(_ actual: Tensor, _ expected: Tensor) -> Float {
    precondition(actual.shape == expected.shape, "shapes differ: \(actual.shape) vs \(expected.shape)")
    let b = expected.scalars()
    let scale = max(b.reduce(Float(0)) { max($0, abs($1)) }, 1e-30)
    return zip(actual.scalars(), b).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) } / scale
}

/// Largest element-wise `|a − b| / max(|b|, 10⁻³·max|b|)` (the floor keeps near-zero references from
/// dominating): the step-output comparison metric.
func elementwiseRelativeError(_ actual: Tensor, _ expected: Tensor) -> Float {
    precondition(actual.shape == expected.shape, "shapes differ: \(actual.shape) vs \(expected.shape)")
    let b = expected.scalars()
    let floor = max(b.reduce(Float(0)) { max($0, abs($1)) } * 1e-3, 1e-30)
    return zip(actual.scalars(), b).reduce(Float(0)) { worst, pair in
        let error = abs(pair.0 - pair.1) / max(abs(pair.1), floor)
        return error.isNaN ? .nan : max(worst, error)
    }
}
