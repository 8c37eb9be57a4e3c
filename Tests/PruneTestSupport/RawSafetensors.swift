import Foundation
import PruneTensor

/// Hand-built safetensors files holding entries of any dtype, for tests of files PruneKit's float-only
/// ``SafetensorsWriter`` cannot produce (integer `position_ids`, boolean masks, fp8 weights).
public enum RawSafetensors {
    /// One tensor: its name, header dtype string, shape and stored little-endian bytes.
    public struct Entry: Sendable {
        public let key: String
        public let dtype: String
        public let shape: [Int]
        public let bytes: [UInt8]

        public init(_ key: String, _ dtype: String, _ shape: [Int], _ bytes: [UInt8]) {
            self.key = key
            self.dtype = dtype
            self.shape = shape
            self.bytes = bytes
        }

        /// A float32 entry holding `tensor`'s values.
        public static func float32(_ key: String, _ tensor: Tensor) -> Entry {
            Entry(key, "F32", tensor.shape, littleEndian(tensor.scalars()))
        }

        /// An `I64` entry.
        public static func int64(_ key: String, _ shape: [Int], _ values: [Int64]) -> Entry {
            Entry(key, "I64", shape, littleEndian(values))
        }
    }

    /// The file: length prefix, a JSON header padded with spaces to a multiple of 8, then the entries' bytes in
    /// the order given.
    public static func bytes(_ entries: [Entry], metadata: [String: String] = [:]) -> [UInt8] {
        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }.map { "\(quoted($0.key)):\(quoted($0.value))" }
            fields.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        for entry in entries {
            let shape = entry.shape.map(String.init).joined(separator: ",")
            fields.append(
                "\(quoted(entry.key)):{\"dtype\":\(quoted(entry.dtype)),\"shape\":[\(shape)],"
                    + "\"data_offsets\":[\(offset),\(offset + entry.bytes.count)]}")
            offset += entry.bytes.count
        }
        var header = Array(("{" + fields.joined(separator: ",") + "}").utf8)
        header += [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8)
        return littleEndian([UInt64(header.count)]) + header + entries.flatMap(\.bytes)
    }

    /// Writes the file of ``bytes(_:metadata:)`` to `path`.
    public static func write(_ entries: [Entry], metadata: [String: String] = [:], to path: String) throws {
        try Data(bytes(entries, metadata: metadata)).write(to: URL(fileURLWithPath: path))
    }

    /// The little-endian bytes of fixed-width integers.
    public static func littleEndian<I: FixedWidthInteger>(_ values: [I]) -> [UInt8] {
        values.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
    }

    /// The little-endian bytes of `Float`s.
    public static func littleEndian(_ values: [Float]) -> [UInt8] {
        littleEndian(values.map(\.bitPattern))
    }

    private static func quoted(_ text: String) -> String {
        let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return "\"\(escaped)\""
    }
}
