import Foundation

extension Storage {
    /// Buffers at least this large are backed by transparent huge pages where the OS allows it.
    static let hugePageThreshold = 4 << 20

    /// Asks Linux to back a large, not yet touched buffer with 2 MiB transparent huge pages. Fresh
    /// allocations of tens of MiB come straight from `mmap`, and faulting them in 4 KiB at a time costs
    /// about 20 ms per 64 MiB on two cores — more than the memory-bound kernel that fills them; huge
    /// pages cut that about sevenfold. A no-op for small buffers and on other systems.
    static func adviseHugePages(_ pointer: UnsafeMutableRawPointer, byteCount: Int) {
        #if os(Linux)
            guard byteCount >= hugePageThreshold else { return }
            let pageSize = 4096
            let start = (Int(bitPattern: pointer) + pageSize - 1) & ~(pageSize - 1)
            let end = (Int(bitPattern: pointer) + byteCount) & ~(pageSize - 1)
            guard end > start, let alignedStart = UnsafeMutableRawPointer(bitPattern: start) else { return }
            _ = madvise(alignedStart, end - start, MADV_HUGEPAGE)
        #endif
    }
}
