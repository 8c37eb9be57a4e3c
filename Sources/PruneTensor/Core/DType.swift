/// The element types a ``Storage`` can hold.
///
/// Compute is always `float32`; `float16` and `bfloat16` exist so checkpoints load at half the memory
/// and are converted on use, and `float64` is read for high-precision fixtures.
public enum DType: String, Sendable, CaseIterable, CustomStringConvertible {
    case float32
    case float16
    case bfloat16
    case float64

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float32: 4
        case .float16, .bfloat16: 2
        case .float64: 8
        }
    }

    public var description: String { rawValue }
}

/// Converts between `float32` and the 16-bit storage formats.
///
/// `bfloat16` is the upper half of an IEEE `float32`; the narrowing conversion rounds to nearest even and
/// keeps NaN a NaN. `float16` uses the platform's IEEE half type.
public enum HalfPrecision {
    /// Widens a bfloat16 bit pattern to `Float`.
    @inlinable
    public static func float(fromBFloat16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Narrows a `Float` to a bfloat16 bit pattern (round to nearest even).
    @inlinable
    public static func bfloat16Bits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: (bits >> 16) | 0x0040) }
        let roundingBias = UInt32(0x7FFF) + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
    }

    /// Widens a float16 bit pattern to `Float`.
    @inlinable
    public static func float(fromFloat16 bits: UInt16) -> Float {
        Float(Float16(bitPattern: bits))
    }

    /// Narrows a `Float` to a float16 bit pattern (IEEE round to nearest even; overflow goes to infinity).
    @inlinable
    public static func float16Bits(from value: Float) -> UInt16 {
        Float16(value).bitPattern
    }
}
