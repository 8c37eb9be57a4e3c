import Foundation

/// Writes tensors as a [safetensors](https://github.com/huggingface/safetensors) file.
///
/// The layout matches what the Python `safetensors` library writes and reads: compact JSON header with
/// the keys sorted (`__metadata__` first when present), padded with spaces to a multiple of 8 bytes so
/// the data section is 8-byte aligned, then every tensor's elements contiguous, row-major and
/// little-endian, in sorted key order with no gaps.
///
/// The file appears atomically: the bytes go to a temporary file in the destination's directory, which
/// is flushed to disk and renamed over `path`. On any error the temporary file is removed and an
/// existing file at `path` is left untouched. Tensors borrowed from a mapping of the file being replaced
/// stay valid, since the old file lives on until its mapping goes away.
public enum SafetensorsWriter {
    /// Writes `tensors` (any shapes, including rank 0 and zero-size; views are written contiguously) to
    /// `path`, every element converted to `dtype`.
    ///
    /// - Parameters:
    ///   - tensors: Name → tensor. The name `__metadata__` is reserved.
    ///   - metadata: Free-form string pairs stored under `__metadata__`; omitted from the header when
    ///     empty.
    ///   - path: Destination; replaced atomically if it exists. Its directory must exist.
    ///   - dtype: Element type in the file. `float16` overflows to infinity and `bfloat16` rounds to
    ///     nearest even.
    /// - Throws: ``SafetensorsError/invalidTensorName(path:key:reason:)`` for a reserved name, and
    ///   ``SafetensorsError/io(path:operation:reason:)`` when the temporary file cannot be created,
    ///   written, flushed or renamed (for example when the directory does not exist).
    public static func write(
        _ tensors: [String: Tensor], metadata: [String: String] = [:], to path: String,
        dtype: DType = .float32
    ) throws(SafetensorsError) {
        let keys = tensors.keys.sorted()
        if keys.contains("__metadata__") {
            throw .invalidTensorName(
                path: path, key: "__metadata__", reason: "the name is reserved for the metadata entry")
        }
        let header = makeHeader(keys: keys, tensors: tensors, metadata: metadata, dtype: dtype)
        try writeAtomically(to: path, header: header) { (output) throws(SafetensorsError) in
            for key in keys {
                let tensor = tensors[key]!
                guard tensor.count > 0 else { continue }
                let source =
                    tensor.dtype == dtype && tensor.isContiguous ? tensor : tensor.converted(to: dtype)
                let start = source.storage.bytes + source.layout.offset * dtype.byteSize
                try output.append(UnsafeRawBufferPointer(start: start, count: source.count * dtype.byteSize))
            }
        }
    }

    /// Writes `header` (length-prefixed) and then what `body` appends to a registered temporary beside `path`,
    /// flushes it and renames it over `path`; on any error the temporary is removed and `path` is untouched.
    static func writeAtomically(
        to path: String, header: [UInt8], body: (BufferedOutput) throws(SafetensorsError) -> Void
    ) throws(SafetensorsError) {
        let (directory, name) = split(path)
        let temporaryPath = directory + "/" + TemporaryOutputs.prefix(forOutputNamed: name) + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let registration = TemporaryOutputs.register(temporaryPath)
        defer { TemporaryOutputs.unregister(registration) }
        let fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw SafetensorsMapping.systemError(path, "create temporary file") }
        var isOpen = true
        var renamed = false
        defer {
            if isOpen { close(fd) }
            if !renamed { unlink(temporaryPath) }
        }

        let output = BufferedOutput(fd: fd, path: path)
        let prefix = withUnsafeBytes(of: UInt64(header.count).littleEndian, Array.init) + header
        try prefix.withUnsafeBufferPointer { (bytes) throws(SafetensorsError) in
            try output.append(UnsafeRawBufferPointer(bytes))
        }
        try body(output)
        try output.flush()

        guard fsync(fd) == 0 else { throw SafetensorsMapping.systemError(path, "fsync") }
        isOpen = false
        guard close(fd) == 0 else { throw SafetensorsMapping.systemError(path, "close") }
        guard rename(temporaryPath, path) == 0 else { throw SafetensorsMapping.systemError(path, "rename") }
        renamed = true
        // Make the rename itself durable; a failure here cannot undo it, so it is not an error.
        let directoryFD = open(directory, O_RDONLY | O_CLOEXEC)
        if directoryFD >= 0 {
            _ = fsync(directoryFD)
            close(directoryFD)
        }
    }

    /// Writes `tensors` to the file URL `url`; see ``write(_:metadata:to:dtype:)-(_,_,String,_)``.
    ///
    /// - Throws: ``SafetensorsError``, as the path variant.
    public static func write(
        _ tensors: [String: Tensor], metadata: [String: String] = [:], to url: URL, dtype: DType = .float32
    ) throws(SafetensorsError) {
        try write(tensors, metadata: metadata, to: url.path, dtype: dtype)
    }

    /// The header bytes, space-padded to a multiple of 8.
    static func makeHeader(
        keys: [String], tensors: [String: Tensor], metadata: [String: String], dtype: DType
    ) -> [UInt8] {
        makeHeader(
            entries: keys.map { key in
                let tensor = tensors[key]!
                return (key, dtype.safetensorsName, tensor.shape, tensor.count * dtype.byteSize)
            }, metadata: metadata)
    }

    /// The header bytes for `entries` laid out back to back in order (each `byteCount` long), `__metadata__`
    /// first when `metadata` is not empty, space-padded to a multiple of 8.
    static func makeHeader(entries: [(key: String, dtype: String, shape: [Int], byteCount: Int)], metadata: [String: String]) -> [UInt8] {
        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { SafetensorsJSON.quoted($0) + ":" + SafetensorsJSON.quoted(metadata[$0]!) }
            fields.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        for entry in entries {
            let end = offset + entry.byteCount
            let shape = entry.shape.map(String.init).joined(separator: ",")
            fields.append(
                SafetensorsJSON.quoted(entry.key) + ":{\"dtype\":\"\(entry.dtype)\",\"shape\":[\(shape)],"
                    + "\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var bytes = Array(("{" + fields.joined(separator: ",") + "}").utf8)
        bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - bytes.count % 8) % 8))
        return bytes
    }

    /// The directory (`.` when there is none) and last component of `path`.
    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }
}

/// Coalesces small writes into 1 MiB chunks; large blocks go straight to the file.
final class BufferedOutput {
    let fd: Int32
    let path: String
    private let buffer: UnsafeMutableRawPointer
    private var used = 0
    private static let capacity = 1 << 20

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
        buffer = UnsafeMutableRawPointer.allocate(byteCount: Self.capacity, alignment: 64)
    }

    deinit { buffer.deallocate() }

    func append(_ bytes: UnsafeRawBufferPointer) throws(SafetensorsError) {
        guard let start = bytes.baseAddress, bytes.count > 0 else { return }
        if used + bytes.count > Self.capacity { try flush() }
        if bytes.count >= Self.capacity {
            try writeAll(start, bytes.count)
        } else {
            (buffer + used).copyMemory(from: start, byteCount: bytes.count)
            used += bytes.count
        }
    }

    func flush() throws(SafetensorsError) {
        guard used > 0 else { return }
        try writeAll(UnsafeRawPointer(buffer), used)
        used = 0
    }

    private func writeAll(_ start: UnsafeRawPointer, _ count: Int) throws(SafetensorsError) {
        var next = start
        var remaining = count
        while remaining > 0 {
            let written = write(fd, next, remaining)
            if written < 0 {
                if errno == EINTR { continue }
                throw SafetensorsMapping.systemError(path, "write")
            }
            next += written
            remaining -= written
        }
    }
}
