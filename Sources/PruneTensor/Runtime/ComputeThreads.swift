import CBLAS
import Dispatch
import Foundation

/// The engine's threading policy: element-wise and reduction kernels split work across `count` threads,
/// and OpenBLAS gets the same number for its own matrix products.
///
/// The two never run at the same time — a kernel either calls `cblas_sgemm` or runs a parallel loop,
/// and no parallel loop calls BLAS — so the machine is never oversubscribed. The width defaults to the
/// number of active processors and can be set with the `PRUNEKIT_THREADS` environment variable.
public enum ComputeThreads {
    nonisolated(unsafe) private static var configuredCount: Int = {
        let fromEnvironment = ProcessInfo.processInfo.environment["PRUNEKIT_THREADS"].flatMap(Int.init)
        let count = max(1, fromEnvironment ?? ProcessInfo.processInfo.activeProcessorCount)
        openblas_set_num_threads(Int32(count))
        return count
    }()

    /// Threads used by parallel kernels and by OpenBLAS.
    public static var count: Int { configuredCount }

    /// Sets the thread count for both the engine's kernels and OpenBLAS. Call before heavy work starts.
    public static func set(_ count: Int) {
        precondition(count >= 1, "thread count must be at least 1")
        configuredCount = count
        openblas_set_num_threads(Int32(count))
    }

    /// Runs `body` over `0..<count` split into contiguous chunks, in parallel when the work is large.
    ///
    /// - Parameters:
    ///   - count: the number of items.
    ///   - grain: the fewest items worth giving one thread; below `2 * grain` items run inline.
    ///   - body: processes one half-open range of items; called concurrently for disjoint ranges.
    @inlinable
    public static func parallelFor(_ count: Int, grain: Int = 16_384, _ body: (Range<Int>) -> Void) {
        let threads = self.count
        let chunks = min(threads, count / max(grain, 1))
        if chunks <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        let chunkSize = (count + chunks - 1) / chunks
        withoutActuallyEscaping(body) { body in
            let work = UncheckedSendableBox(body)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let start = chunk * chunkSize
                let end = min(count, start + chunkSize)
                if start < end { work.value(start..<end) }
            }
        }
    }
}

/// Carries a value into a concurrent closure; the caller guarantees the concurrent uses are disjoint.
@usableFromInline
struct UncheckedSendableBox<Value>: @unchecked Sendable {
    @usableFromInline let value: Value
    @usableFromInline init(_ value: Value) { self.value = value }
}
