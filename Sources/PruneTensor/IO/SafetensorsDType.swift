/// The element type of one entry in a safetensors file, as its header names it.
///
/// This is the *storage* description of a file entry — every dtype the safetensors format defines (its Rust
/// crate's `Dtype`: booleans, signed and unsigned integers, the 4-, 6- and 8-bit float formats, complex64 and the
/// usual floats) — kept apart from the compute ``DType``, which lists only what a ``Storage`` can hold. A file with
/// any of them opens, and its header is validated the same way for every dtype; what can be *read* differs:
///
/// - `F32`, `F16`, `BF16`, `F64` map to a ``DType`` (``computeDType``) and read in that type or converted.
/// - `BOOL` and the integer types read as float32, exactly: a value float32 cannot hold exactly (an integer
///   beyond ±2²⁴ that is not a multiple of the spacing there) makes the read throw
///   ``SafetensorsError/inexactConversion(path:key:dtype:index:value:)`` rather than round. A `BOOL` byte reads
///   as 0 when zero and 1 otherwise.
/// - The 8-bit floats (`F8_E4M3`, `F8_E5M2`, their FNUZ variants, `F8_E8M0`) read as float32 exactly (see
///   ``Float8``).
/// - The packed sub-byte floats (`F4`, `F6_E2M3`, `F6_E3M2`) and `C64` are validated but not readable
///   (``isReadable`` is `false`): reading one throws ``SafetensorsError/unreadableDType(path:key:dtype:)``.
public enum SafetensorsDType: String, Sendable, CaseIterable, CustomStringConvertible {
    case bool = "BOOL"
    /// MX FP4 (E2M1), two elements packed per byte.
    case float4 = "F4"
    /// MX FP6 (E2M3), four elements packed per three bytes.
    case float6E2M3 = "F6_E2M3"
    /// MX FP6 (E3M2), four elements packed per three bytes.
    case float6E3M2 = "F6_E3M2"
    case uint8 = "U8"
    case int8 = "I8"
    /// OCP FP8 E5M2 (IEEE-like: infinities and NaNs).
    case float8E5M2 = "F8_E5M2"
    /// OCP FP8 E4M3 "FN" (no infinities; `S.1111.111` is NaN; largest finite 448).
    case float8E4M3 = "F8_E4M3"
    /// OCP MX E8M0 scale: an unsigned power of two, `0xFF` is NaN.
    case float8E8M0 = "F8_E8M0"
    /// FP8 E4M3 "FNUZ" (exponent bias 8, no negative zero: `0x80` is NaN).
    case float8E4M3FNUZ = "F8_E4M3FNUZ"
    /// FP8 E5M2 "FNUZ" (exponent bias 16, no negative zero: `0x80` is NaN).
    case float8E5M2FNUZ = "F8_E5M2FNUZ"
    case int16 = "I16"
    case uint16 = "U16"
    case float16 = "F16"
    case bfloat16 = "BF16"
    case int32 = "I32"
    case uint32 = "U32"
    case float32 = "F32"
    /// Complex numbers of two float32 parts.
    case complex64 = "C64"
    case float64 = "F64"
    case int64 = "I64"
    case uint64 = "U64"

    /// The dtype as a safetensors header spells it (`"I64"`, `"F8_E4M3"`); names are case-sensitive.
    public var name: String { rawValue }

    public var description: String { rawValue }

    /// The dtype the header string `name` denotes, or `nil` when the format defines no such dtype.
    public init?(name: String) { self.init(rawValue: name) }

    /// The storage dtype of a compute dtype (what ``SafetensorsWriter`` writes for it).
    public init(_ dtype: DType) {
        switch dtype {
        case .float32: self = .float32
        case .float16: self = .float16
        case .bfloat16: self = .bfloat16
        case .float64: self = .float64
        }
    }

    /// Bits per element: 4 for `F4`, 6 for the FP6 formats, otherwise a whole number of bytes.
    public var bitSize: Int {
        switch self {
        case .float4: 4
        case .float6E2M3, .float6E3M2: 6
        case .bool, .uint8, .int8, .float8E5M2, .float8E4M3, .float8E8M0, .float8E4M3FNUZ, .float8E5M2FNUZ: 8
        case .int16, .uint16, .float16, .bfloat16: 16
        case .int32, .uint32, .float32: 32
        case .complex64, .float64, .int64, .uint64: 64
        }
    }

    /// The compute dtype holding these elements unchanged, or `nil` when there is none (they are converted to
    /// float32 on reading, or cannot be read).
    public var computeDType: DType? {
        switch self {
        case .float32: .float32
        case .float16: .float16
        case .bfloat16: .bfloat16
        case .float64: .float64
        default: nil
        }
    }

    /// Whether ``SafetensorsFile/tensor(_:as:)`` can read the elements (in their compute dtype or converted to
    /// float32). `false` for the packed sub-byte floats and complex64.
    public var isReadable: Bool {
        switch self {
        case .float4, .float6E2M3, .float6E3M2, .complex64: false
        default: true
        }
    }

    /// The number of bytes `count` elements occupy, or why there is no such number.
    func storageSize(ofCount count: Int) -> StorageSize {
        if bitSize % 8 == 0 {
            let (bytes, overflow) = count.multipliedReportingOverflow(by: bitSize / 8)
            return overflow ? .overflow : .bytes(bytes)
        }
        let (bits, overflow) = count.multipliedReportingOverflow(by: bitSize)
        if overflow { return .overflow }
        return bits % 8 == 0 ? .bytes(bits / 8) : .partialByte(bits: bits)
    }

    /// The outcome of ``storageSize(ofCount:)``.
    enum StorageSize: Equatable {
        /// A whole number of bytes.
        case bytes(Int)
        /// The size does not fit in `Int`.
        case overflow
        /// Packed sub-byte elements that end inside a byte (`bits` is not a multiple of 8), which the format
        /// rejects.
        case partialByte(bits: Int)
    }
}
