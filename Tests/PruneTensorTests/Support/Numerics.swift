import PruneTensor
import Testing

// Numeric expectations shared by the suite. Each takes the caller's source location so a failure
// points at the test line, not at this file.

/// Expects `actual` and `expected` to have the same length and to agree element-wise within
/// `absolute + relative · |expected|`.
func expectClose(
    _ actual: [Float], _ expected: [Float], absolute: Float = 1e-5, relative: Float = 1e-5,
    _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation
) {
    guard actual.count == expected.count else {
        let message = "expected \(expected.count) values, got \(actual.count): \(actual)" + (comment.map { " — \($0)" } ?? "")
        Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
        return
    }
    var mismatches: [String] = []
    for (index, (a, e)) in zip(actual, expected).enumerated() {
        let bothNaN = a.isNaN && e.isNaN
        let sameInfinity = a.isInfinite && a == e
        if bothNaN || sameInfinity { continue }
        if !(Swift.abs(a - e) <= absolute + relative * Swift.abs(e)) {
            mismatches.append("[\(index)] \(a) vs expected \(e)")
        }
    }
    if !mismatches.isEmpty {
        let message = "\(mismatches.count) of \(actual.count) values differ: "
            + mismatches.prefix(6).joined(separator: ", ") + (comment.map { " — \($0)" } ?? "")
        Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
    }
}

/// Expects `tensor` to have `shape` and values close to `expected` (row-major).
func expectClose(
    _ tensor: Tensor?, _ expected: [Float], shape: [Int], absolute: Float = 1e-5, relative: Float = 1e-5,
    _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation
) {
    guard let tensor else {
        Issue.record("expected a tensor of shape \(shape), got nil", sourceLocation: sourceLocation)
        return
    }
    #expect(tensor.shape == shape, comment, sourceLocation: sourceLocation)
    expectClose(
        tensor.scalars(), expected, absolute: absolute, relative: relative, comment, sourceLocation: sourceLocation)
}

/// Expects two tensors to have the same shape and close values.
func expectClose(
    _ actual: Tensor?, _ expected: Tensor, absolute: Float = 1e-5, relative: Float = 1e-5,
    _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation
) {
    expectClose(
        actual, expected.scalars(), shape: expected.shape, absolute: absolute, relative: relative, comment,
        sourceLocation: sourceLocation)
}

/// Row-major strides of `shape` (test-side, independent of the engine's `Layout`).
func rowMajorStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var running = 1
    for axis in stride(from: shape.count - 1, through: 0, by: -1) {
        strides[axis] = running
        running *= shape[axis]
    }
    return strides
}

/// The multi-index of flat row-major position `flat` in `shape`.
func multiIndex(_ flat: Int, in shape: [Int]) -> [Int] {
    var remaining = flat
    var index = [Int](repeating: 0, count: shape.count)
    for axis in stride(from: shape.count - 1, through: 0, by: -1) {
        index[axis] = remaining % shape[axis]
        remaining /= shape[axis]
    }
    return index
}

/// A stable 64-bit FNV-1a hash, used to seed per-case generators from case names.
func stableSeed(_ text: String) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in text.utf8 {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01B3
    }
    return hash
}
