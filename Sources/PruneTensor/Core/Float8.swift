/// Decodes the 8-bit float formats of fp8 checkpoints to `Float`.
///
/// Every value of every format is exactly representable in float32 (at most 3 mantissa bits, exponents within
/// 2⁻¹²⁷…2¹²⁷), so decoding never rounds. Each format is a 256-entry table built once from its definition:
///
/// | format | exponent bias | specials |
/// |---|---|---|
/// | E4M3 (OCP "FN") | 7 | no infinities; `S.1111.111` is NaN; largest finite ±448 |
/// | E5M2 (OCP) | 15 | IEEE-like: exponent `11111` is ±∞ (mantissa 0) or NaN |
/// | E4M3 FNUZ | 8 | no infinities, no negative zero: `0x80` is the only NaN; largest finite ±240 |
/// | E5M2 FNUZ | 16 | no infinities, no negative zero: `0x80` is the only NaN; largest finite ±57344 |
/// | E8M0 (OCP MX scale) | 127 | unsigned, no mantissa: `2^(e − 127)`; `0xFF` is NaN |
///
/// Subnormals (exponent field 0) are `mantissa / 2^m · 2^(1 − bias)`, as in IEEE 754.
public enum Float8 {
    /// The formats ``decode(_:_:)`` understands.
    public enum Format: Sendable, CaseIterable {
        case e4m3, e5m2, e4m3fnuz, e5m2fnuz, e8m0
    }

    /// The value of the bit pattern `bits` in `format`.
    @inlinable
    public static func decode(_ bits: UInt8, _ format: Format) -> Float {
        table(format)[Int(bits)]
    }

    /// All 256 values of `format`, indexed by bit pattern.
    public static func table(_ format: Format) -> [Float] {
        switch format {
        case .e4m3: e4m3Table
        case .e5m2: e5m2Table
        case .e4m3fnuz: e4m3fnuzTable
        case .e5m2fnuz: e5m2fnuzTable
        case .e8m0: e8m0Table
        }
    }

    private static let e4m3Table = (0..<256).map { bits in
        bits & 0x7F == 0x7F ? Float.nan : signed(bits, exponentBits: 4, mantissaBits: 3, bias: 7)
    }
    private static let e5m2Table = (0..<256).map { bits in
        guard bits & 0x7C == 0x7C else { return signed(bits, exponentBits: 5, mantissaBits: 2, bias: 15) }
        return bits & 0x03 == 0 ? (bits & 0x80 == 0 ? Float.infinity : -Float.infinity) : Float.nan
    }
    private static let e4m3fnuzTable = (0..<256).map { bits in
        bits == 0x80 ? Float.nan : signed(bits, exponentBits: 4, mantissaBits: 3, bias: 8)
    }
    private static let e5m2fnuzTable = (0..<256).map { bits in
        bits == 0x80 ? Float.nan : signed(bits, exponentBits: 5, mantissaBits: 2, bias: 16)
    }
    private static let e8m0Table = (0..<256).map { bits in
        bits == 0xFF ? Float.nan : Float(sign: .plus, exponent: bits - 127, significand: 1)
    }

    /// The finite value of a sign–exponent–mantissa byte with the given field widths (the caller handles the
    /// format's special patterns first).
    private static func signed(_ bits: Int, exponentBits: Int, mantissaBits: Int, bias: Int) -> Float {
        let mantissa = bits & ((1 << mantissaBits) - 1)
        let exponent = (bits >> mantissaBits) & ((1 << exponentBits) - 1)
        let sign: FloatingPointSign = bits & 0x80 == 0 ? .plus : .minus
        let fraction = Float(mantissa) / Float(1 << mantissaBits)
        // Float(sign:exponent:significand:) scales by a power of two, exactly.
        return exponent == 0
            ? Float(sign: sign, exponent: 1 - bias, significand: fraction)
            : Float(sign: sign, exponent: exponent - bias, significand: 1 + fraction)
    }
}
