import Foundation
import PruneTensor

/// Locations of the committed fixture files (`Tests/Fixtures`, made by `Tests/Fixtures/make_fixtures.py`).
public enum Fixtures {
    /// `Tests/Fixtures`, found relative to this source file so tests run from any working directory.
    public static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// The path of `relativePath` inside `Tests/Fixtures`.
    public static func path(_ relativePath: String) -> String {
        directory.appendingPathComponent(relativePath).path
    }
}

/// The fixtures' relative error: `max|a − b| / max|b|` over the tensor (the definition recorded in
/// every `expected.safetensors` as `max_rel_definition`). Element-wise ratios are meaningless where
/// the reference crosses zero, so the error is measured against the tensor's scale.
public func maximumRelativeError(_ actual: Tensor, _ expected: Tensor) -> Float {
    precondition(actual.shape == expected.shape, "shapes differ: \(actual.shape) vs \(expected.shape)")
    let a = actual.scalars()
    let b = expected.scalars()
    let scale = max(b.reduce(Float(0)) { max($0, abs($1)) }, 1e-30)
    var worst: Float = 0
    for i in a.indices {
        let error = abs(a[i] - b[i])
        if error.isNaN { return .nan }
        worst = max(worst, error)
    }
    return worst / scale
}
