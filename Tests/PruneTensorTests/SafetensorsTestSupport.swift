import Foundation
import PruneTensor

/// Helpers shared by the safetensors suites: scratch directories and hand-built files.
enum SafetensorsFixture {
    /// Runs `body` with a fresh empty directory that is removed afterwards.
    static func withTemporaryDirectory<R>(_ body: (String) throws -> R) throws -> R {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("prunekit-safetensors-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        return try body(directory)
    }

    /// A file: 8-byte little-endian `headerLength` (the header's size unless overridden), `header`, `data`.
    static func bytes(header: [UInt8], data: [UInt8] = [], headerLength: UInt64? = nil) -> [UInt8] {
        let length = headerLength ?? UInt64(header.count)
        return withUnsafeBytes(of: length.littleEndian, Array.init) + header + data
    }

    /// A file with a UTF-8 JSON header.
    static func bytes(json: String, data: [UInt8] = [], headerLength: UInt64? = nil) -> [UInt8] {
        bytes(header: Array(json.utf8), data: data, headerLength: headerLength)
    }

    /// Writes `bytes` to `path`.
    static func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// The bytes of the file at `path`.
    static func read(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Little-endian bytes of 16-bit patterns.
    static func littleEndian(_ values: [UInt16]) -> [UInt8] {
        values.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
    }

    /// Little-endian bytes of `Float`s.
    static func littleEndian(_ values: [Float]) -> [UInt8] {
        values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
    }

    /// Bytes from a hex string.
    static func hex(_ text: String) -> [UInt8] {
        var result: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            result.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return result
    }

    /// A `float64` tensor holding `values`.
    static func float64Tensor(_ values: [Double], shape: [Int]) -> Tensor {
        let storage = Storage(uninitializedCount: values.count, dtype: .float64)
        let destination = storage.bytes.assumingMemoryBound(to: Double.self)
        for (i, value) in values.enumerated() { destination[i] = value }
        return Tensor(storage: storage, shape: shape)
    }

    /// The elements of a `float64` tensor (contiguous, offset 0).
    static func doubles(_ tensor: Tensor) -> [Double] {
        Array(UnsafeBufferPointer(start: tensor.storage.bytes.assumingMemoryBound(to: Double.self), count: tensor.count))
    }
}
