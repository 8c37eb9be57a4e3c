import Foundation
import PruneTensor

/// Spot checks that a benchmarked op computed the right values, so a fast but broken kernel cannot pass.
///
/// Each check recomputes a few dozen output elements directly from the inputs (plain loops in `Double`)
/// and stops the run on a mismatch. The sizes benchmarked here take the parallel paths that the unit
/// tests' small tensors never reach.
enum Verification {
    /// Compares `actual(i)` with `expected(i)` for `samples` pseudo-random `i` in `0..<count`; a relative
    /// error above `tolerance` (against `max(1, |expected|)`) ends the run.
    static func check(
        _ name: String, count: Int, samples: Int = 48, tolerance: Double = 1e-4, actual: (Int) -> Float,
        expected: (Int) -> Double
    ) {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        for _ in 0..<samples {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let index = Int(state >> 33) % max(count, 1)
            let (got, want) = (Double(actual(index)), expected(index))
            if !(abs(got - want) <= tolerance * max(1, abs(want))) {
                FileHandle.standardError.write(
                    Data("prunekit-bench: \(name) is wrong at element \(index): \(got), expected \(want)\n".utf8))
                exit(3)
            }
        }
    }

    /// The element of `tensor` at the multi-index `index`, through its layout (any view).
    static func element(_ tensor: Tensor, _ index: [Int]) -> Float {
        let layout = tensor.layout
        var offset = layout.offset
        for (i, stride) in zip(index, layout.strides) { offset += i * stride }
        return tensor.storage.floats[offset]
    }

    /// `index` in row-major order as a multi-index of `shape`.
    static func multiIndex(_ index: Int, in shape: [Int]) -> [Int] {
        var remaining = index
        var result = [Int](repeating: 0, count: shape.count)
        for axis in shape.indices.reversed() {
            result[axis] = remaining % shape[axis]
            remaining /= shape[axis]
        }
        return result
    }

    /// Checks every element of `actual` (any shape and view) against `expected` at its multi-index.
    static func check(_ name: String, _ actual: Tensor, tolerance: Double = 1e-4, expected: ([Int]) -> Double) {
        check(
            name, count: actual.count, tolerance: tolerance,
            actual: { element(actual, multiIndex($0, in: actual.shape)) },
            expected: { expected(multiIndex($0, in: actual.shape)) })
    }
}
