import PruneTensor
import Testing

/// The 8-bit float decoders against their format definitions.
@Suite struct Float8Tests {
    @Test("E5M2 is the upper byte of an IEEE float16, for all 256 patterns")
    func e5m2MatchesFloat16() {
        for bits in 0...255 {
            let expected = Float(Float16(bitPattern: UInt16(bits) << 8))
            let decoded = Float8.decode(UInt8(bits), .e5m2)
            #expect(decoded.bitPattern == expected.bitPattern || (decoded.isNaN && expected.isNaN), "0x\(String(bits, radix: 16))")
        }
    }

    @Test("E4M3 has no infinities, two NaNs, largest finite 448, and increases with its bit pattern")
    func e4m3Definition() {
        let values = Float8.table(.e4m3)
        #expect(values.filter(\.isNaN).count == 2 && values[0x7F].isNaN && values[0xFF].isNaN)
        #expect(values.allSatisfy { !$0.isInfinite })
        #expect(values[0x7E] == 448 && values[0xFE] == -448)
        #expect(values[0x08] == 0x1p-6 && values[0x07] == 7 * 0x1p-9)  // smallest normal, largest subnormal
        #expect(values[0x80].sign == .minus && values[0x80] == 0)
        for bits in 1...0x7E {
            #expect(values[bits] > values[bits - 1], "0x\(String(bits, radix: 16))")
            #expect(values[bits | 0x80] == -values[bits])
        }
    }

    @Test("the FNUZ formats have one NaN (0x80), no negative zero and no infinities")
    func fnuzDefinitions() {
        for format in [Float8.Format.e4m3fnuz, .e5m2fnuz] {
            let values = Float8.table(format)
            #expect(values.filter(\.isNaN).count == 1 && values[0x80].isNaN)
            #expect(values.allSatisfy { !$0.isInfinite })
            #expect(values[0] == 0 && values[0].sign == .plus)
        }
        #expect(Float8.decode(0x7F, .e4m3fnuz) == 240 && Float8.decode(0x01, .e4m3fnuz) == 0x1p-10)
        #expect(Float8.decode(0x7F, .e5m2fnuz) == 57344 && Float8.decode(0x01, .e5m2fnuz) == 0x1p-17)
    }

    @Test("E8M0 is the power of two 2^(e - 127), with 0xFF NaN")
    func e8m0Definition() {
        for bits in 0...254 {
            #expect(Float8.decode(UInt8(bits), .e8m0) == Float(sign: .plus, exponent: bits - 127, significand: 1))
        }
        #expect(Float8.decode(0xFF, .e8m0).isNaN)
    }
}
