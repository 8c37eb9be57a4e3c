/// Whether operations are being recorded for reverse-mode differentiation on the current task/thread.
public enum GradientMode {
    @TaskLocal static var isRecording = true

    /// True when an op whose inputs require gradients will be put on the tape.
    public static var isEnabled: Bool { isRecording }
}

/// Runs `body` without recording any operation: results never require gradients and keep no inputs
/// or intermediates alive.
///
/// ```swift
/// let sample = withoutGradients { model(latent) }
/// ```
public func withoutGradients<Result>(_ body: () throws -> Result) rethrows -> Result {
    try GradientMode.$isRecording.withValue(false, operation: body)
}

/// Runs `body` with recording on, even inside a ``withoutGradients(_:)`` scope.
public func withGradients<Result>(_ body: () throws -> Result) rethrows -> Result {
    try GradientMode.$isRecording.withValue(true, operation: body)
}
