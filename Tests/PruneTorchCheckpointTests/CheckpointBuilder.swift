import Foundation

@testable import PruneTorchCheckpoint

/// Hand-built pickles and zip archives for hostile-input tests: exactly the bytes a test needs, with the
/// structure torch.save uses (stored entries under `archive/`, CRC-32s in the central directory).
enum CheckpointBuilder {
    /// A pickle stream written opcode by opcode.
    struct Pickle {
        var bytes: [UInt8] = [0x80, 0x02]

        mutating func op(_ codes: UInt8...) { bytes += codes }
        mutating func global(_ module: String, _ name: String) { bytes += [0x63] + Array("\(module)\n\(name)\n".utf8) }
        mutating func string(_ text: String) {
            let utf8 = Array(text.utf8)
            bytes += [0x58] + withUnsafeBytes(of: UInt32(utf8.count).littleEndian, Array.init) + utf8
        }
        /// BININT (a signed 32-bit integer).
        mutating func int(_ value: Int32) { bytes += [0x4A] + withUnsafeBytes(of: value.littleEndian, Array.init) }
        /// LONG1 with 8 bytes (any Int).
        mutating func long(_ value: Int) { bytes += [0x8A, 8] + withUnsafeBytes(of: value.littleEndian, Array.init) }
        mutating func tuple(_ items: [Int]) {
            op(0x28)
            for item in items { long(item) }
            op(0x74)
        }

        /// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())` over the
        /// persistent id `('storage', torch.<storageType>, key, 'cpu', numel)`.
        mutating func tensor(storageType: String = "FloatStorage", key: String = "0", numel: Int, offset: Int = 0, size: [Int], stride: [Int]) {
            global("torch._utils", "_rebuild_tensor_v2")
            op(0x28)  // MARK: the argument tuple
            op(0x28)  // MARK: the persistent id
            string("storage")
            global("torch", storageType)
            string(key)
            string("cpu")
            long(numel)
            op(0x74, 0x51)  // TUPLE, BINPERSID
            long(offset)
            tuple(size)
            tuple(stride)
            op(0x89)  // NEWFALSE
            global("collections", "OrderedDict")
            op(0x29, 0x52)  // EMPTY_TUPLE, REDUCE
            op(0x74, 0x52)  // TUPLE, REDUCE
        }

        /// A list of the values pushed by `body`, then STOP.
        static func list(_ body: (inout Pickle) -> Void) -> [UInt8] {
            var pickle = Pickle()
            pickle.op(0x5D, 0x28)  // EMPTY_LIST, MARK
            body(&pickle)
            pickle.op(0x65, 0x2E)  // APPENDS, STOP
            return pickle.bytes
        }

        /// `body` then STOP.
        static func raw(_ body: (inout Pickle) -> Void) -> [UInt8] {
            var pickle = Pickle()
            body(&pickle)
            pickle.op(0x2E)
            return pickle.bytes
        }
    }

    /// A torch.save-style archive: `archive/data.pkl`, `archive/byteorder`, `archive/data/<key>` for each storage.
    static func checkpoint(pickle: [UInt8], storages: [(String, [UInt8])], byteorder: String = "little") -> [UInt8] {
        zip([("archive/data.pkl", pickle), ("archive/byteorder", Array(byteorder.utf8))]
            + storages.map { ("archive/data/\($0.0)", $0.1) })
    }

    /// Float32 little-endian bytes.
    static func floats(_ values: [Float]) -> [UInt8] { values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) } }

    /// A zip archive of stored entries (no data descriptors, no zip64).
    static func zip(_ entries: [(String, [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        func u16(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt16(v).littleEndian, Array.init) }
        func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        for (name, data) in entries {
            let nameBytes = Array(name.utf8)
            let crc = data.withUnsafeBytes { CRC32.checksum($0) }
            let offset = UInt32(out.count)
            out += u32(0x0403_4B50) + u16(20) + u16(0) + u16(0) + u16(0) + u16(0) + u32(crc) + u32(UInt32(data.count))
                + u32(UInt32(data.count)) + u16(nameBytes.count) + u16(0) + nameBytes + data
            central += u32(0x0201_4B50) + u16(20) + u16(20) + u16(0) + u16(0) + u16(0) + u16(0) + u32(crc)
                + u32(UInt32(data.count)) + u32(UInt32(data.count)) + u16(nameBytes.count) + u16(0) + u16(0) + u16(0) + u16(0)
                + u32(0) + u32(offset) + nameBytes
        }
        let directoryOffset = UInt32(out.count)
        out += central
        out += u32(0x0605_4B50) + u16(0) + u16(0) + u16(entries.count) + u16(entries.count) + u32(UInt32(central.count))
            + u32(directoryOffset) + u16(0)
        return out
    }
}
