import Foundation

/// Little-endian reads from a byte buffer where every offset is checked first: a read that would leave
/// the buffer returns `nil` instead of trapping, so hostile offsets become errors, never crashes.
struct BoundedBytes {
    /// The bytes (for files, a read-only mapping).
    let data: Data

    init(_ data: Data) { self.data = data }

    var count: Int { data.count }

    /// Whether `offset ..< offset + length` lies inside the buffer (overflow-safe).
    func contains(_ offset: Int, _ length: Int) -> Bool {
        guard offset >= 0, length >= 0 else { return false }
        let (end, overflow) = offset.addingReportingOverflow(length)
        return !overflow && end <= data.count
    }

    /// Bytes `offset ..< offset + length`, re-based to start at index 0.
    func slice(_ offset: Int, _ length: Int) -> Data? {
        guard contains(offset, length) else { return nil }
        let start = data.startIndex + offset
        return Data(data[start..<start + length])
    }

    func uint8(_ offset: Int) -> UInt8? {
        guard contains(offset, 1) else { return nil }
        return data[data.startIndex + offset]
    }

    func uint16(_ offset: Int) -> UInt16? { integer(offset, as: UInt16.self) }
    func uint32(_ offset: Int) -> UInt32? { integer(offset, as: UInt32.self) }
    func uint64(_ offset: Int) -> UInt64? { integer(offset, as: UInt64.self) }

    private func integer<T: FixedWidthInteger>(_ offset: Int, as type: T.Type) -> T? {
        guard contains(offset, MemoryLayout<T>.size) else { return nil }
        return data.withUnsafeBytes { raw in T(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }

    /// Hex of the first `count` bytes, for messages.
    func hexPrefix(_ count: Int) -> String {
        data.prefix(count).map { String(format: "%02x", $0) }.joined(separator: " ")
    }
}
