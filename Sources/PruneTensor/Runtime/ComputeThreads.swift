import CBLAS
import Dispatch
import Foundation

/// The engine's threading policy: element-wise and reduction kernels split work across `count` threads,
/// and OpenBLAS gets the same number for its own matrix products.
///
/// The two never run at the same time — a kernel either calls `cblas_sgemm` or runs a parallel loop,
/// and no parallel loop calls BLAS — and with the pthread build of OpenBLAS the loops run on OpenBLAS's
/// own worker threads (see ``BLASThreadPool``), so the machine is never oversubscribed. The width
/// defaults to the number of active processors and can be set with the `PRUNEKIT_THREADS` environment
/// variable.
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
    ///   - body: processes one half-open range of items; called concurrently for disjoint ranges. It must
    ///     not call BLAS: it may be running on one of OpenBLAS's workers, and a threaded product started
    ///     there would wait for that worker — itself — forever.
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
            runChunks(chunks) { chunk in
                let start = chunk * chunkSize
                let end = min(count, start + chunkSize)
                if start < end { body(start..<end) }
            }
        }
    }

    /// Runs `work(0)`, …, `work(chunks − 1)` concurrently and returns when all are done.
    ///
    /// The chunks run on OpenBLAS's own worker threads when the library exposes its pool (see
    /// ``BLASThreadPool``), so that parallel loops and matrix products share one set of `count` threads:
    /// after each product OpenBLAS's workers keep spinning (with `sched_yield`) for a while, and a second
    /// pool of the same width would compete with them for the cores. Otherwise, and for a parallel loop
    /// started from inside another, the chunks go to `DispatchQueue.concurrentPerform`.
    @usableFromInline
    static func runChunks(_ chunks: Int, _ work: @escaping (Int) -> Void) {
        if BLASThreadPool.run(chunks, work) { return }
        let box = UncheckedSendableBox(work)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in box.value(chunk) }
    }
}

/// OpenBLAS's pthread worker pool, borrowed for the engine's parallel loops through its exported
/// `gotoblas_pthread(count, routine, arguments, stride)`, which runs `routine` on `count` argument
/// records, the first on the calling thread and the rest on its workers, and returns when all are done.
///
/// Used only with the pthread build of OpenBLAS (looked up at run time; absent elsewhere) and never for a
/// loop nested inside another one: a worker waiting for a free worker would wait for itself.
enum BLASThreadPool {
    private typealias Launch = @convention(c) (Int32, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, Int32) -> Int32

    /// One chunk's argument record.
    private struct Chunk {
        let job: UnsafeMutableRawPointer
        let index: Int
    }

    /// The work of one parallel loop, shared by its chunks.
    private final class Job {
        let work: (Int) -> Void
        init(_ work: @escaping (Int) -> Void) { self.work = work }
    }

    /// Disabled with `PRUNEKIT_BLAS_POOL=0`, which sends every parallel loop to Dispatch instead.
    private static let launch: Launch? = {
        guard ProcessInfo.processInfo.environment["PRUNEKIT_BLAS_POOL"] != "0" else { return nil }
        guard openblas_get_parallel() == 1, let symbol = dlsym(nil, "gotoblas_pthread") else { return nil }
        return unsafeBitCast(symbol, to: Launch.self)
    }()

    /// Marks threads that are running a chunk, so that nested loops fall back to dispatch.
    private static let insideKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Runs one chunk; called by OpenBLAS on its own threads and on the caller's.
    private static let routine: @convention(c) (UnsafeMutableRawPointer?) -> Void = { argument in
        guard let chunk = argument?.assumingMemoryBound(to: Chunk.self).pointee else { return }
        let job = Unmanaged<Job>.fromOpaque(chunk.job).takeUnretainedValue()
        let outer = pthread_getspecific(BLASThreadPool.insideKey)
        pthread_setspecific(BLASThreadPool.insideKey, UnsafeRawPointer(bitPattern: 1))
        job.work(chunk.index)
        pthread_setspecific(BLASThreadPool.insideKey, outer)
    }

    /// Runs `work` over `0..<chunks` on OpenBLAS's threads; false (nothing run) when that is not possible.
    static func run(_ chunks: Int, _ work: @escaping (Int) -> Void) -> Bool {
        guard let launch, chunks <= Int(openblas_get_num_threads()),
            pthread_getspecific(insideKey) == nil
        else { return false }
        let job = Unmanaged.passRetained(Job(work))
        defer { job.release() }
        let records = UnsafeMutablePointer<Chunk>.allocate(capacity: chunks)
        defer { records.deallocate() }
        for index in 0..<chunks { (records + index).initialize(to: Chunk(job: job.toOpaque(), index: index)) }
        _ = launch(
            Int32(chunks), unsafeBitCast(routine, to: UnsafeMutableRawPointer.self), UnsafeMutableRawPointer(records),
            Int32(MemoryLayout<Chunk>.stride))
        return true
    }
}

/// Carries a value into a concurrent closure; the caller guarantees the concurrent uses are disjoint.
@usableFromInline
struct UncheckedSendableBox<Value>: @unchecked Sendable {
    @usableFromInline let value: Value
    @usableFromInline init(_ value: Value) { self.value = value }
}
