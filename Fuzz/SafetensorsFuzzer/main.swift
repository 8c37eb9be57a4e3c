// libFuzzer harness for the safetensors reader: every input is handed to `SafetensorsFile.parse`, the same
// header validation `SafetensorsFile.open` runs on a mapped file, and every tensor it accepts is read back in
// its stored dtype and as float32 (float dtypes), or as float32 alone (boolean, integer and 8-bit float dtypes,
// which may only fail with the errors their dtype allows). Built and run by Fuzz/run-safetensors-fuzzer.sh, which compiles this file
// together with Sources/PruneTensor into one module (hence no `import PruneTensor`).
//
// A crash, a sanitizer report, a hang or a broken invariant below (a precondition failure) is a finding.

/// The name the fuzzer's bytes go by in errors.
private let fuzzPath = "fuzz-input"

/// Checks one accepted file: every tensor's shape and byte range agree and all its elements can be read.
private func readEveryTensor(of file: SafetensorsFile, input: UnsafeRawBufferPointer) throws(SafetensorsError) {
    let size = input.count
    precondition(file.dataOffset >= 8 && file.dataOffset <= size, "data offset \(file.dataOffset) outside \(size) bytes")
    var covered = 0
    for key in file.keys {
        guard let info = file.info(key) else { preconditionFailure("key \(key) listed but has no info") }
        precondition(info.count * info.dtype.bitSize == info.byteRange.count * 8, "byte range disagrees with \(info)")
        precondition(file.dataOffset + info.byteRange.upperBound <= size, "tensor \(key) reaches past the input")
        covered += info.byteRange.count

        if let computeType = info.dtype.computeDType {
            try readFloatTensor(key, info, computeType, in: file)
        } else {
            let start = file.dataOffset + info.byteRange.lowerBound
            readConvertedTensor(key, info, in: file, stored: UnsafeRawBufferPointer(rebasing: input[start..<start + info.byteRange.count]))
        }
    }
    precondition(covered == size - file.dataOffset, "tensors cover \(covered) of \(size - file.dataOffset) data bytes")

    // A key that is not there is an error naming it, never a crash.
    do {
        _ = try file.tensor("\u{1}not a key")
        preconditionFailure("reading a missing key succeeded")
    } catch .tensorNotFound(let path, _, let available, _) {
        precondition(path == fuzzPath && available == file.keys.count, "tensorNotFound names the wrong file or count")
    }
}

/// A float tensor: read in its stored dtype and as float32, both with the header's shape.
private func readFloatTensor(
    _ key: String, _ info: SafetensorsFile.TensorInfo, _ computeType: DType, in file: SafetensorsFile
) throws(SafetensorsError) {
    let stored = try file.tensor(key, as: computeType)
    precondition(stored.shape == info.shape && stored.dtype == computeType, "stored read of \(key) changed shape or dtype")
    let floats = try file.tensor(key)
    precondition(floats.shape == info.shape && floats.dtype == .float32, "float32 read of \(key) changed shape")
    let values = floats.scalars()
    precondition(values.count == info.count, "\(key): \(values.count) scalars for \(info.count) elements")
    // The zero-copy (or aligned-copy) view must agree with the converted read, bit for bit where both are float32.
    if computeType == .float32 && info.count > 0 {
        let direct = stored.scalars()
        precondition(zip(direct, values).allSatisfy { $0.bitPattern == $1.bitPattern }, "\(key): views disagree")
    }
}

/// A tensor without a compute dtype (its stored dtype cannot be held by a `Storage`): read as float32, which
/// either succeeds with the header's shape and values that agree with the stored bytes, or throws the error its
/// dtype allows, naming the key — never anything else. `stored` is the tensor's bytes in the input.
private func readConvertedTensor(
    _ key: String, _ info: SafetensorsFile.TensorInfo, in file: SafetensorsFile, stored raw: UnsafeRawBufferPointer
) {
    do {
        let floats = try file.tensor(key)
        precondition(info.dtype.isReadable, "\(key): \(info.dtype) read although it is unreadable")
        precondition(floats.shape == info.shape && floats.dtype == .float32, "float32 read of \(key) changed shape")
        let values = floats.scalars()
        precondition(values.count == info.count, "\(key): \(values.count) scalars for \(info.count) elements")
        // One-byte elements are checked against the stored bytes; wider integers must come out as integers.
        for (i, value) in values.enumerated() {
            switch info.dtype {
            case .uint8: precondition(value == Float(raw[i]), "\(key)[\(i)]: U8 \(raw[i]) read as \(value)")
            case .int8: precondition(value == Float(Int8(bitPattern: raw[i])), "\(key)[\(i)]: I8 read as \(value)")
            case .bool: precondition(value == (raw[i] == 0 ? 0 : 1), "\(key)[\(i)]: BOOL \(raw[i]) read as \(value)")
            case .int16, .uint16, .int32, .uint32, .int64, .uint64:
                precondition(value.isFinite && value == value.rounded(), "\(key)[\(i)]: integer read as \(value)")
            case .float8E4M3, .float8E5M2, .float8E4M3FNUZ, .float8E5M2FNUZ, .float8E8M0:
                let expected = Float8.decode(raw[i], fuzzFloat8Formats[info.dtype]!)
                precondition(
                    value.bitPattern == expected.bitPattern || (value.isNaN && expected.isNaN),
                    "\(key)[\(i)]: \(info.dtype) 0x\(String(raw[i], radix: 16)) read as \(value), expected \(expected)")
            default:
                preconditionFailure("\(key): \(info.dtype) has a compute dtype or is unreadable")
            }
        }
    } catch .unreadableDType(let path, let name, let dtype) {
        precondition(!info.dtype.isReadable, "\(key): readable \(info.dtype) refused")
        precondition(path == fuzzPath && name == key && dtype == info.dtype.name, "unreadableDType names the wrong tensor")
    } catch .inexactConversion(let path, let name, let dtype, let index, _) {
        precondition([.int32, .uint32, .int64, .uint64].contains(info.dtype), "\(key): \(info.dtype) called inexact")
        precondition(path == fuzzPath && name == key && dtype == info.dtype.name, "inexactConversion names the wrong tensor")
        precondition(index >= 0 && index < info.count, "inexact element \(index) outside \(info.count)")
    } catch {
        preconditionFailure("\(key): unexpected error reading \(info.dtype): \(error)")
    }
}

/// The ``Float8`` format of each 8-bit float dtype.
private let fuzzFloat8Formats: [SafetensorsDType: Float8.Format] = [
    .float8E4M3: .e4m3, .float8E5M2: .e5m2, .float8E4M3FNUZ: .e4m3fnuz, .float8E5M2FNUZ: .e5m2fnuz, .float8E8M0: .e8m0,
]

@_cdecl("LLVMFuzzerTestOneInput")
public func safetensorsFuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    do {
        let file = try SafetensorsFile.parse(bytes, path: fuzzPath)
        try readEveryTensor(of: file, input: bytes)
    } catch {
        // Every rejection is one line that starts with the file's name.
        let line = error.description
        precondition(error.path == fuzzPath && line.hasPrefix(fuzzPath + ": "), "error does not name the input: \(line)")
        precondition(!line.contains("\n"), "error spans several lines: \(line)")
    }
    return 0
}
