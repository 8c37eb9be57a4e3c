// libFuzzer harness for the safetensors reader: every input is handed to `SafetensorsFile.parse`, the same
// header validation `SafetensorsFile.open` runs on a mapped file, and every tensor it accepts is read back in
// its stored dtype and as float32. Built and run by Fuzz/run-safetensors-fuzzer.sh, which compiles this file
// together with Sources/PruneTensor into one module (hence no `import PruneTensor`).
//
// A crash, a sanitizer report, a hang or a broken invariant below (a precondition failure) is a finding.

/// The name the fuzzer's bytes go by in errors.
private let fuzzPath = "fuzz-input"

/// Checks one accepted file: every tensor's shape and byte range agree and all its elements can be read.
private func readEveryTensor(of file: SafetensorsFile, size: Int) throws(SafetensorsError) {
    precondition(file.dataOffset >= 8 && file.dataOffset <= size, "data offset \(file.dataOffset) outside \(size) bytes")
    var covered = 0
    for key in file.keys {
        guard let info = file.info(key) else { preconditionFailure("key \(key) listed but has no info") }
        precondition(info.count * info.dtype.byteSize == info.byteRange.count, "byte range disagrees with \(info)")
        precondition(file.dataOffset + info.byteRange.upperBound <= size, "tensor \(key) reaches past the input")
        covered += info.byteRange.count

        let stored = try file.tensor(key, as: info.dtype)
        precondition(stored.shape == info.shape && stored.dtype == info.dtype, "stored read of \(key) changed shape or dtype")
        let floats = try file.tensor(key)
        precondition(floats.shape == info.shape && floats.dtype == .float32, "float32 read of \(key) changed shape")
        let values = floats.scalars()
        precondition(values.count == info.count, "\(key): \(values.count) scalars for \(info.count) elements")
        // The zero-copy (or aligned-copy) view must agree with the converted read, bit for bit where both are float32.
        if info.dtype == .float32 && info.count > 0 {
            let direct = stored.scalars()
            precondition(zip(direct, values).allSatisfy { $0.bitPattern == $1.bitPattern }, "\(key): views disagree")
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

@_cdecl("LLVMFuzzerTestOneInput")
public func safetensorsFuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    do {
        let file = try SafetensorsFile.parse(bytes, path: fuzzPath)
        try readEveryTensor(of: file, size: size)
    } catch {
        // Every rejection is one line that starts with the file's name.
        let line = error.description
        precondition(error.path == fuzzPath && line.hasPrefix(fuzzPath + ": "), "error does not name the input: \(line)")
        precondition(!line.contains("\n"), "error spans several lines: \(line)")
    }
    return 0
}
