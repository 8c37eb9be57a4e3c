// Loss functions.

/// Mean squared error `mean((a − b)²)` over all elements, as `torch.nn.functional.mse_loss`.
public func meanSquaredError(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.shape == b.shape, "meanSquaredError: shapes \(a.shape) and \(b.shape) differ")
    let x = a.contiguousWithoutRecording().basePointer
    let y = b.contiguousWithoutRecording().basePointer
    var total: Double = 0
    for i in 0..<a.count {
        let d = Double(x[i] - y[i])
        total += d * d
    }
    let result = Tensor(scalar: Float(total / Double(Swift.max(a.count, 1))))
    return Tensor.recorded(result, from: [a, b], .meanSquaredError(a, b))
}
