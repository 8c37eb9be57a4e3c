import Foundation

/// A flat, 64-byte aligned block of elements of one ``DType``, shared by every tensor that views it.
///
/// Storage either owns its memory (allocated here and freed on deinit) or borrows memory kept alive by an
/// `owner` object (for example a memory-mapped safetensors file), so a checkpoint can be viewed without
/// a copy. Compute kernels read and write `float32` storage only; convert other dtypes with
/// ``converted(to:)`` first.
public final class Storage: @unchecked Sendable {
    /// The element type.
    public let dtype: DType
    /// Number of elements.
    public let count: Int
    /// The first byte.
    public let bytes: UnsafeMutableRawPointer
    private let ownsMemory: Bool
    private let owner: AnyObject?

    /// Allocates uninitialised storage for `count` elements.
    public init(uninitializedCount count: Int, dtype: DType = .float32) {
        precondition(count >= 0, "negative element count \(count)")
        self.dtype = dtype
        self.count = count
        self.bytes = UnsafeMutableRawPointer.allocate(
            byteCount: max(count * dtype.byteSize, 1), alignment: 64)
        self.ownsMemory = true
        self.owner = nil
        Storage.adviseHugePages(bytes, byteCount: count * dtype.byteSize)
    }

    /// Allocates zero-filled storage for `count` elements.
    public convenience init(zeroedCount count: Int, dtype: DType = .float32) {
        self.init(uninitializedCount: count, dtype: dtype)
        memset(bytes, 0, count * dtype.byteSize)
    }

    /// Wraps memory owned by someone else; `owner` is retained for as long as this storage lives.
    public init(borrowing bytes: UnsafeMutableRawPointer, count: Int, dtype: DType, owner: AnyObject) {
        self.dtype = dtype
        self.count = count
        self.bytes = bytes
        self.ownsMemory = false
        self.owner = owner
    }

    deinit {
        if ownsMemory { bytes.deallocate() }
    }

    /// Size in bytes.
    public var byteCount: Int { count * dtype.byteSize }

    /// The elements as `Float`; only valid for `float32` storage.
    @inlinable
    public var floats: UnsafeMutablePointer<Float> {
        precondition(dtype == .float32, "compute needs float32 storage, found \(dtype)")
        return bytes.assumingMemoryBound(to: Float.self)
    }

    /// A `float32` copy of `count` elements starting at `offset` (the whole storage by default).
    public func converted(to target: DType, offset: Int = 0, count: Int? = nil) -> Storage {
        let n = count ?? (self.count - offset)
        precondition(offset >= 0 && offset + n <= self.count, "conversion range out of bounds")
        let result = Storage(uninitializedCount: n, dtype: target)
        if target == dtype {
            memcpy(result.bytes, bytes + offset * dtype.byteSize, n * dtype.byteSize)
            return result
        }
        // Widen to Float first, then narrow to the target.
        let widened = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
        defer { widened.deallocate() }
        switch dtype {
        case .float32:
            widened.update(from: bytes.assumingMemoryBound(to: Float.self) + offset, count: n)
        case .float64:
            let source = bytes.assumingMemoryBound(to: Double.self) + offset
            for i in 0..<n { widened[i] = Float(source[i]) }
        case .float16:
            let source = bytes.assumingMemoryBound(to: UInt16.self) + offset
            for i in 0..<n { widened[i] = HalfPrecision.float(fromFloat16: source[i]) }
        case .bfloat16:
            let source = bytes.assumingMemoryBound(to: UInt16.self) + offset
            for i in 0..<n { widened[i] = HalfPrecision.float(fromBFloat16: source[i]) }
        }
        switch target {
        case .float32:
            result.floats.update(from: widened, count: n)
        case .float64:
            let destination = result.bytes.assumingMemoryBound(to: Double.self)
            for i in 0..<n { destination[i] = Double(widened[i]) }
        case .float16:
            let destination = result.bytes.assumingMemoryBound(to: UInt16.self)
            for i in 0..<n { destination[i] = HalfPrecision.float16Bits(from: widened[i]) }
        case .bfloat16:
            let destination = result.bytes.assumingMemoryBound(to: UInt16.self)
            for i in 0..<n { destination[i] = HalfPrecision.bfloat16Bits(from: widened[i]) }
        }
        return result
    }
}
