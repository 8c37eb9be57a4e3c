import Foundation

/// The element types of PyTorch storages this reader accepts, by the storage class that names them in a
/// pickle (`torch.BFloat16Storage` …; `torch.UntypedStorage` holds bytes).
public enum TorchDType: String, Sendable, CaseIterable {
    case float64, float32, float16, bfloat16, int64, int32, int16, int8, uint8, bool

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .float16, .bfloat16, .int16: 2
        case .int8, .uint8, .bool: 1
        }
    }

    /// Whether the type is a floating-point one.
    public var isFloatingPoint: Bool { [.float64, .float32, .float16, .bfloat16].contains(self) }

    /// The type a `torch.<name>` storage class holds.
    static func storageClass(_ name: String) -> TorchDType? {
        switch name {
        case "DoubleStorage": .float64
        case "FloatStorage": .float32
        case "HalfStorage": .float16
        case "BFloat16Storage": .bfloat16
        case "LongStorage": .int64
        case "IntStorage": .int32
        case "ShortStorage": .int16
        case "CharStorage": .int8
        case "ByteStorage", "UntypedStorage": .uint8
        case "BoolStorage": .bool
        default: nil
        }
    }
}

/// One storage of a checkpoint: `elementCount` elements of `dtype`, as stored in the file.
public struct TorchStorage: Sendable, Equatable {
    /// The storage's key in the archive (`<archive>/data/<key>`).
    public let key: String
    public let dtype: TorchDType
    public let elementCount: Int
    /// The raw bytes, `elementCount · dtype.byteSize` of them.
    let bytes: Data
    /// Whether the file's byte order is big-endian (`<archive>/byteorder` = `big`).
    let bigEndian: Bool
}

/// A tensor rebuilt from a checkpoint: a strided view (`shape`, `strides` in elements, `storageOffset`) of
/// a storage. The view was checked against the storage when it was read, so every element lies inside it.
public struct TorchTensor: Sendable, Equatable {
    public let storage: TorchStorage
    public let storageOffset: Int
    public let shape: [Int]
    public let strides: [Int]

    public var dtype: TorchDType { storage.dtype }
    /// Elements in the view (the product of `shape`; 1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }

    /// Largest rank accepted.
    static let maximumRank = 64
    /// A view may address at most this many times its storage's elements (stride-0 broadcasting), so a
    /// hostile size cannot make ``floatValues()`` allocate without bound.
    static let maximumExpansion = 64

    /// Checks the view against its storage.
    /// - Returns: `nil` when valid, or the reason it is not.
    static func validate(storage: TorchStorage, offset: Int, shape: [Int], strides: [Int]) -> String? {
        guard shape.count == strides.count else { return "size has \(shape.count) dimensions but stride has \(strides.count)" }
        guard shape.count <= maximumRank else { return "rank \(shape.count) exceeds \(maximumRank)" }
        guard offset >= 0 else { return "negative storage offset \(offset)" }
        guard shape.allSatisfy({ $0 >= 0 }) else { return "negative size in \(shape)" }
        guard strides.allSatisfy({ $0 >= 0 }) else { return "negative stride in \(strides)" }
        var count = 1
        for extent in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: extent)
            guard !overflow else { return "size \(shape) overflows" }
            count = product
        }
        guard count <= max(storage.elementCount, 1) * maximumExpansion else {
            return "a view of \(count) elements over the \(storage.elementCount)-element storage \(storage.key) "
                + "(broadcast with stride 0 beyond \(maximumExpansion)× its storage)"
        }
        if count == 0 {
            return offset <= storage.elementCount ? nil : "storage offset \(offset) is past the \(storage.elementCount)-element storage \(storage.key)"
        }
        var last = offset
        for (extent, stride) in zip(shape, strides) {
            let (span, overflow) = (extent - 1).multipliedReportingOverflow(by: stride)
            let (sum, overflow2) = last.addingReportingOverflow(span)
            guard !overflow, !overflow2 else { return "size \(shape) with stride \(strides) overflows" }
            last = sum
        }
        guard last < storage.elementCount else {
            return "a view (offset \(offset), size \(shape), stride \(strides)) reaches element \(last) of the "
                + "\(storage.elementCount)-element storage \(storage.key)"
        }
        return nil
    }

    /// The elements in row-major order as `Float` (float64 rounds to nearest), or `nil` when `dtype` is not
    /// a floating-point type.
    public func floatValues() -> [Float]? {
        guard dtype.isFloatingPoint else { return nil }
        let count = elementCount
        var values = [Float](repeating: 0, count: count)
        guard count > 0 else { return values }
        let size = dtype.byteSize
        let swap = storage.bigEndian
        storage.bytes.withUnsafeBytes { raw in
            var index = [Int](repeating: 0, count: shape.count)
            var element = storageOffset
            for position in 0..<count {
                let byteOffset = element * size
                switch dtype {
                case .float32:
                    let bits = raw.loadUnaligned(fromByteOffset: byteOffset, as: UInt32.self)
                    values[position] = Float(bitPattern: swap ? UInt32(bigEndian: bits) : UInt32(littleEndian: bits))
                case .float64:
                    let bits = raw.loadUnaligned(fromByteOffset: byteOffset, as: UInt64.self)
                    values[position] = Float(Double(bitPattern: swap ? UInt64(bigEndian: bits) : UInt64(littleEndian: bits)))
                case .bfloat16:
                    let bits = raw.loadUnaligned(fromByteOffset: byteOffset, as: UInt16.self)
                    values[position] = Float(bitPattern: UInt32(swap ? UInt16(bigEndian: bits) : UInt16(littleEndian: bits)) << 16)
                case .float16:
                    let bits = raw.loadUnaligned(fromByteOffset: byteOffset, as: UInt16.self)
                    values[position] = Float(Float16(bitPattern: swap ? UInt16(bigEndian: bits) : UInt16(littleEndian: bits)))
                default: break
                }
                // Advance the row-major index and the storage element it maps to.
                var axis = shape.count - 1
                while axis >= 0 {
                    index[axis] += 1
                    element &+= strides[axis]
                    if index[axis] < shape[axis] { break }
                    element &-= strides[axis] &* shape[axis]
                    index[axis] = 0
                    axis -= 1
                }
            }
        }
        return values
    }
}
