import Foundation

/// A per-thread work buffer of floats that kernels borrow for the length of one call (the im2col matrix of a
/// convolution), kept between calls so that it is not mapped and faulted in afresh every time.
///
/// A fresh buffer of several MiB comes from `mmap`, and the kernel zeroes each page on first touch: in a
/// profile of the bench-size SDXL-like U-Net's forward, page faults were 6.1 % of the samples and the page
/// zeroing (2.0 %) was almost all (1.7 %) under `im2col`.
/// Each thread keeps its largest buffer up to ``retainedByteLimit``; larger requests get a buffer of their own
/// that is freed after the call, as before. The buffer's contents are undefined on entry.
enum ScratchBuffer {
    /// The most a thread keeps between calls: 64 MiB.
    static let retainedByteLimit = 64 << 20

    /// Calls `body` with a buffer of at least `count` floats (uninitialised), which must not escape it.
    /// Not reentrant on one thread: `body` must not borrow the scratch buffer again.
    static func withFloats<Result>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) -> Result) -> Result {
        let byteCount = Swift.max(count, 1) * MemoryLayout<Float>.stride
        guard byteCount <= retainedByteLimit else {
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(count, 1))
            defer { buffer.deallocate() }
            Storage.adviseHugePages(buffer, byteCount: byteCount)
            return body(buffer)
        }
        let retained = current()
        precondition(!retained.isBorrowed, "ScratchBuffer is not reentrant")
        retained.reserve(Swift.max(count, 1))
        retained.isBorrowed = true
        defer { retained.isBorrowed = false }
        return body(retained.pointer)
    }

    /// One thread's kept buffer.
    private final class Retained {
        var pointer = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        var capacity = 1
        var isBorrowed = false

        func reserve(_ count: Int) {
            guard count > capacity else { return }
            pointer.deallocate()
            pointer = UnsafeMutablePointer<Float>.allocate(capacity: count)
            capacity = count
            Storage.adviseHugePages(pointer, byteCount: count * MemoryLayout<Float>.stride)
        }

        deinit { pointer.deallocate() }
    }

    /// The key under which each thread keeps its buffer; the destructor frees it when the thread exits.
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { value in
            if let value { Unmanaged<Retained>.fromOpaque(value).release() }
        }
        return key
    }()

    private static func current() -> Retained {
        if let value = pthread_getspecific(key) {
            return Unmanaged<Retained>.fromOpaque(value).takeUnretainedValue()
        }
        let retained = Retained()
        pthread_setspecific(key, Unmanaged.passRetained(retained).toOpaque())
        return retained
    }
}
