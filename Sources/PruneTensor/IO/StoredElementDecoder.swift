/// Converts the little-endian elements of a safetensors dtype without a compute ``DType`` (booleans, integers,
/// 8-bit floats) to float32.
enum StoredElementDecoder {
    /// The first element that float32 cannot hold exactly.
    struct Inexact: Error, Equatable {
        /// Its row-major index.
        let index: Int
        /// Its stored value, in decimal.
        let value: String
    }

    /// Writes the float32 value of each of the `count` elements at `source` (any alignment) to `destination`.
    ///
    /// - Precondition: `dtype` is readable and has no compute dtype.
    /// - Throws: ``Inexact`` for the first integer float32 would have to round.
    static func decode(
        _ source: UnsafeRawPointer, count: Int, dtype: SafetensorsDType, into destination: UnsafeMutablePointer<Float>
    ) throws(Inexact) {
        switch dtype {
        case .bool:
            for i in 0..<count { destination[i] = source.load(fromByteOffset: i, as: UInt8.self) == 0 ? 0 : 1 }
        case .uint8: try integers(source, count, UInt8.self, destination)
        case .int8: try integers(source, count, Int8.self, destination)
        case .uint16: try integers(source, count, UInt16.self, destination)
        case .int16: try integers(source, count, Int16.self, destination)
        case .uint32: try integers(source, count, UInt32.self, destination)
        case .int32: try integers(source, count, Int32.self, destination)
        case .uint64: try integers(source, count, UInt64.self, destination)
        case .int64: try integers(source, count, Int64.self, destination)
        case .float8E4M3: float8(source, count, .e4m3, destination)
        case .float8E5M2: float8(source, count, .e5m2, destination)
        case .float8E4M3FNUZ: float8(source, count, .e4m3fnuz, destination)
        case .float8E5M2FNUZ: float8(source, count, .e5m2fnuz, destination)
        case .float8E8M0: float8(source, count, .e8m0, destination)
        case .float4, .float6E2M3, .float6E3M2, .complex64, .float16, .bfloat16, .float32, .float64:
            preconditionFailure("\(dtype) is not decoded element by element")
        }
    }

    private static func integers<I: FixedWidthInteger>(
        _ source: UnsafeRawPointer, _ count: Int, _ type: I.Type, _ destination: UnsafeMutablePointer<Float>
    ) throws(Inexact) {
        let stride = MemoryLayout<I>.size
        for i in 0..<count {
            let value = I(littleEndian: source.loadUnaligned(fromByteOffset: i * stride, as: I.self))
            guard let exact = Float(exactly: value) else { throw Inexact(index: i, value: String(value)) }
            destination[i] = exact
        }
    }

    private static func float8(
        _ source: UnsafeRawPointer, _ count: Int, _ format: Float8.Format, _ destination: UnsafeMutablePointer<Float>
    ) {
        let table = Float8.table(format)
        table.withUnsafeBufferPointer { values in
            for i in 0..<count { destination[i] = values[Int(source.load(fromByteOffset: i, as: UInt8.self))] }
        }
    }
}
