import PruneTensor
import Testing

// Half-precision storage: bit-exact narrowing (round to nearest even, NaN stays NaN) and widening.

@Suite("Half-precision conversions")
struct DTypeTests {
    @Test("dtype sizes")
    func sizes() {
        #expect(DType.float32.byteSize == 4)
        #expect(DType.float16.byteSize == 2)
        #expect(DType.bfloat16.byteSize == 2)
        #expect(DType.float64.byteSize == 8)
    }

    @Test("float16 bit patterns of known values")
    func float16Bits() {
        let cases: [(Float, UInt16)] = [
            (1, 0x3C00), (-2, 0xC000), (0.5, 0x3800), (0, 0x0000), (-0.0, 0x8000),
            (65504, 0x7BFF),  // largest finite half
            (6.103_515_6e-5, 0x0400),  // smallest normal, 2⁻¹⁴
            (5.960_464_5e-8, 0x0001),  // smallest subnormal, 2⁻²⁴
            (.infinity, 0x7C00), (-.infinity, 0xFC00),
            (65520, 0x7C00),  // halfway between 65504 and 65536: ties to even overflows to infinity
            (1 + 0x1p-11, 0x3C00),  // tie between 0x3C00 and 0x3C01 → even 0x3C00
            (1 + 3 * 0x1p-11, 0x3C02),  // tie between 0x3C01 and 0x3C02 → even 0x3C02
            (1 + 0x1p-11 + 0x1p-20, 0x3C01),  // just above the tie rounds up
            (0.1, 0x2E66),
        ]
        for (value, bits) in cases {
            #expect(HalfPrecision.float16Bits(from: value) == bits, "\(value)")
        }
        #expect(HalfPrecision.float(fromFloat16: 0x2E66) == 0.099_975_585_937_5)
        #expect(HalfPrecision.float(fromFloat16: 0x4248) == 3.140_625)
        #expect(HalfPrecision.float(fromFloat16: 0x0001) == 0x1p-24)
        #expect(HalfPrecision.float(fromFloat16: HalfPrecision.float16Bits(from: .nan)).isNaN)
    }

    @Test("bfloat16 bit patterns: round to nearest even")
    func bfloat16Rounding() {
        let cases: [(UInt32, UInt16)] = [
            (0x3F80_0000, 0x3F80),  // 1
            (0xC000_0000, 0xC000),  // −2
            (0x3F80_7FFF, 0x3F80),  // below the tie
            (0x3F80_8000, 0x3F80),  // tie, even stays
            (0x3F80_8001, 0x3F81),  // above the tie
            (0x3F81_8000, 0x3F82),  // tie, odd rounds up to even
            (0x3DCC_CCCD, 0x3DCD),  // 0.1
            (0x7F80_0000, 0x7F80),  // +∞
            (0xFF80_0000, 0xFF80),  // −∞
            (0x7F7F_FFFF, 0x7F80),  // the largest float rounds up to ∞
            (0x0000_0001, 0x0000),  // the smallest subnormal rounds to zero
            (0x8000_0000, 0x8000),  // −0
        ]
        for (bits, expected) in cases {
            #expect(HalfPrecision.bfloat16Bits(from: Float(bitPattern: bits)) == expected, "0x\(String(bits, radix: 16))")
        }
    }

    @Test("bfloat16 keeps NaN a NaN, including payloads that rounding would turn into infinity")
    func bfloat16NaN() {
        for bits: UInt32 in [0x7FC0_0000, 0x7F80_0001, 0x7FFF_FFFF, 0xFF80_0001, 0x7F80_FFFF] {
            let narrowed = HalfPrecision.bfloat16Bits(from: Float(bitPattern: bits))
            #expect(HalfPrecision.float(fromBFloat16: narrowed).isNaN, "0x\(String(bits, radix: 16)) → 0x\(String(narrowed, radix: 16))")
            #expect(narrowed & 0x8000 == UInt16(bits >> 16) & 0x8000, "the sign survives")
        }
    }

    @Test("bfloat16 widening is exact")
    func bfloat16Widening() {
        #expect(HalfPrecision.float(fromBFloat16: 0x3F80) == 1)
        #expect(HalfPrecision.float(fromBFloat16: 0x4049) == 3.140_625)
        #expect(HalfPrecision.float(fromBFloat16: 0x3DCD) == 0.100_097_656_25)
        #expect(HalfPrecision.float(fromBFloat16: 0xFF80) == -.infinity)
    }

    @Test("representable values round-trip through float16, bfloat16 and float64 tensors", arguments: [DType.float16, .bfloat16, .float64])
    func tensorRoundTrip(_ dtype: DType) {
        // Each value is exact in all three formats.
        let values: [Float] = [1, -2, 0.5, 0, -0.0, 3.140_625, 0.25, -96, 0x1p-14]
        let tensor = Tensor(values, shape: [3, 3])
        let narrowed = tensor.converted(to: dtype)
        #expect(narrowed.dtype == dtype)
        #expect(narrowed.shape == [3, 3])
        #expect(narrowed.storage.byteCount == 9 * dtype.byteSize)
        let widened = narrowed.converted(to: .float32)
        #expect(widened.dtype == .float32)
        #expect(widened.scalars() == values)
        #expect(narrowed.scalars() == values, "scalars() widens on its own")
        #expect(widened.scalars().map(\.sign) == values.map(\.sign), "−0 keeps its sign")
    }

    @Test("inexact values round once and then round-trip")
    func inexactValues() {
        let tensor = Tensor([0.1, 1e-9, 70_000], shape: [3])
        expectClose(tensor.converted(to: .float16).scalars(), [0.099_975_585_937_5, 0, .infinity], absolute: 0, relative: 0)
        expectClose(tensor.converted(to: .bfloat16).scalars(), [0.100_097_656_25, 9.968_062e-10, 70_144], absolute: 0, relative: 1e-7)
        let once = tensor.converted(to: .bfloat16)
        #expect(once.converted(to: .float32).converted(to: .bfloat16).scalars() == once.scalars())
    }

    @Test("converting a strided view or an offset view converts the elements it shows")
    func convertViews() {
        let base = Tensor((0..<12).map(Float.init), shape: [3, 4])
        let transposed = base.transposed()
        #expect(transposed.converted(to: .float16).scalars() == transposed.scalars())
        let rows = base.sliced(axis: 0, 1..<3)  // contiguous, offset 4
        #expect(rows.isContiguous)
        #expect(rows.converted(to: .bfloat16).scalars() == (4..<12).map(Float.init))
    }
}
