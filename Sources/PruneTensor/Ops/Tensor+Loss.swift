// Loss functions.

/// Mean squared error `mean((a − b)²)` over all elements, as `torch.nn.functional.mse_loss`.
public func meanSquaredError(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.shape == b.shape, "meanSquaredError: shapes \(a.shape) and \(b.shape) differ")
    let xContiguous = a.contiguousWithoutRecording()
    defer { withExtendedLifetime(xContiguous) {} }  // `x` points into it
    let x = xContiguous.basePointer
    let yContiguous = b.contiguousWithoutRecording()
    defer { withExtendedLifetime(yContiguous) {} }  // `y` points into it
    let y = yContiguous.basePointer
    var total: Double = 0
    for i in 0..<a.count {
        let d = Double(x[i] - y[i])
        total += d * d
    }
    let result = Tensor(scalar: Float(total / Double(Swift.max(a.count, 1))))
    return Tensor.recorded(result, from: [a, b], .meanSquaredError(a, b))
}
