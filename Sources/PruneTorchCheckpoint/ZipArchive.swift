import Foundation

/// The zip container `torch.save` writes (PyTorch's `PyTorchStreamWriter`, built on miniz): stored
/// (uncompressed) entries, 64-byte aligned through padding in the local headers' extra fields, sizes and
/// CRCs in data descriptors (flag bit 3) and in the central directory, zip64 records once an archive or
/// entry passes 4 GiB.
///
/// Only the central directory is trusted for sizes and checksums; every offset is checked against the
/// file before it is used. Multi-disk archives, encryption and compression are refused.
struct ZipArchive {
    /// One stored entry: where its bytes are and what they must hash to.
    struct Entry: Equatable {
        var name: String
        var dataOffset: Int
        var size: Int
        var crc32: UInt32
    }

    /// Entries in central-directory order.
    let entries: [Entry]
    private let byName: [String: Int]
    private let bytes: BoundedBytes
    private let path: String

    /// Whether `bytes` start like a zip archive (a local file header).
    static func looksLikeZip(_ bytes: BoundedBytes) -> Bool { bytes.uint32(0) == 0x0403_4B50 }

    /// Reads the central directory of `bytes`.
    /// - Throws: ``TorchCheckpointError`` (`malformedZip`, `compressedEntry`) naming `path`.
    init(_ bytes: BoundedBytes, path: String) throws(TorchCheckpointError) {
        self.bytes = bytes
        self.path = path
        func fail(_ reason: String) -> TorchCheckpointError { TorchCheckpointError(path: path, .malformedZip(reason: reason)) }

        // End of central directory: 22 bytes plus a comment of up to 65,535 bytes, at the end of the file.
        guard bytes.count >= 22 else { throw fail("the file is \(bytes.count) bytes, shorter than a zip end record") }
        var eocd: Int?
        var candidate = bytes.count - 22
        let lowest = max(0, bytes.count - 22 - 0xFFFF)
        while candidate >= lowest {
            if bytes.uint32(candidate) == 0x0605_4B50, let commentLength = bytes.uint16(candidate + 20),
                candidate + 22 + Int(commentLength) <= bytes.count
            {
                eocd = candidate
                break
            }
            candidate -= 1
        }
        guard let eocd else { throw fail("no end-of-central-directory record (the file is truncated or not a zip)") }
        guard let disk = bytes.uint16(eocd + 4), let directoryDisk = bytes.uint16(eocd + 6),
            let diskEntries16 = bytes.uint16(eocd + 8), let totalEntries16 = bytes.uint16(eocd + 10),
            let directorySize32 = bytes.uint32(eocd + 12), let directoryOffset32 = bytes.uint32(eocd + 16)
        else { throw fail("truncated end-of-central-directory record") }

        var entryCount = Int(totalEntries16)
        var directorySize = Int(directorySize32)
        var directoryOffset = Int(directoryOffset32)
        var directoryLimit = eocd
        if eocd >= 20, bytes.uint32(eocd - 20) == 0x0706_4B50 {
            // zip64 end-of-central-directory locator, then the zip64 record it points to.
            guard let recordOffset64 = bytes.uint64(eocd - 20 + 8), recordOffset64 <= UInt64(eocd - 20) else {
                throw fail("the zip64 locator points past itself")
            }
            let record = Int(recordOffset64)
            guard bytes.uint32(record) == 0x0606_4B50, let disk64 = bytes.uint32(record + 16),
                let directoryDisk64 = bytes.uint32(record + 20), let entries64 = bytes.uint64(record + 32),
                let size64 = bytes.uint64(record + 40), let offset64 = bytes.uint64(record + 48), record + 56 <= eocd - 20
            else { throw fail("bad zip64 end-of-central-directory record at byte \(record)") }
            guard disk64 == 0, directoryDisk64 == 0 else { throw fail("multi-disk archives are not supported") }
            guard entries64 <= UInt64(Int.max), size64 <= UInt64(Int.max), offset64 <= UInt64(Int.max) else {
                throw fail("zip64 sizes out of range")
            }
            entryCount = Int(entries64)
            directorySize = Int(size64)
            directoryOffset = Int(offset64)
            directoryLimit = record
        } else {
            guard disk == 0, directoryDisk == 0, diskEntries16 == totalEntries16 else {
                throw fail("multi-disk archives are not supported")
            }
        }
        guard directoryOffset <= directoryLimit, directorySize <= directoryLimit - directoryOffset else {
            throw fail("the central directory (\(directorySize) bytes at \(directoryOffset)) lies outside the file")
        }
        guard entryCount <= directorySize / 46 else {
            throw fail("\(entryCount) entries cannot fit a \(directorySize)-byte central directory")
        }

        var entries: [Entry] = []
        var byName: [String: Int] = [:]
        var cursor = directoryOffset
        let directoryEnd = directoryOffset + directorySize
        for index in 0..<entryCount {
            guard cursor + 46 <= directoryEnd, bytes.uint32(cursor) == 0x0201_4B50 else {
                throw fail("central directory entry \(index) at byte \(cursor) is damaged")
            }
            let flags = bytes.uint16(cursor + 8)!
            let method = Int(bytes.uint16(cursor + 10)!)
            let crc = bytes.uint32(cursor + 16)!
            var compressedSize = UInt64(bytes.uint32(cursor + 20)!)
            var size = UInt64(bytes.uint32(cursor + 24)!)
            let nameLength = Int(bytes.uint16(cursor + 28)!)
            let extraLength = Int(bytes.uint16(cursor + 30)!)
            let commentLength = Int(bytes.uint16(cursor + 32)!)
            let diskStart = bytes.uint16(cursor + 34)!
            var localOffset = UInt64(bytes.uint32(cursor + 42)!)
            let next = cursor + 46 + nameLength + extraLength + commentLength
            guard next <= directoryEnd, let nameBytes = bytes.slice(cursor + 46, nameLength),
                let name = String(data: nameBytes, encoding: .utf8)
            else { throw fail("central directory entry \(index) runs past the directory or has a name that is not UTF-8") }

            // zip64 extended information: the 0xFFFFFFFF fields, in this order.
            var extra = cursor + 46 + nameLength
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd {
                let id = bytes.uint16(extra)!
                let length = Int(bytes.uint16(extra + 2)!)
                guard extra + 4 + length <= extraEnd else { throw fail("entry \(name): an extra field runs past its entry") }
                if id == 0x0001 {
                    var field = extra + 4
                    func next64() throws(TorchCheckpointError) -> UInt64 {
                        guard field + 8 <= extra + 4 + length, let value = bytes.uint64(field) else {
                            throw fail("entry \(name): zip64 extra field too short")
                        }
                        field += 8
                        return value
                    }
                    if size == 0xFFFF_FFFF { size = try next64() }
                    if compressedSize == 0xFFFF_FFFF { compressedSize = try next64() }
                    if localOffset == 0xFFFF_FFFF { localOffset = try next64() }
                }
                extra += 4 + length
            }
            guard diskStart == 0 || diskStart == 0xFFFF else { throw fail("entry \(name) lives on another disk") }
            guard flags & 1 == 0 else { throw fail("entry \(name) is encrypted") }
            guard method == 0 else { throw TorchCheckpointError(path: path, .compressedEntry(name: name, method: method)) }
            guard compressedSize == size else {
                throw fail("stored entry \(name) has compressed size \(compressedSize) but size \(size)")
            }
            guard localOffset < UInt64(directoryOffset), size <= UInt64(directoryOffset) else {
                throw fail("entry \(name): local header offset \(localOffset) or size \(size) lies outside the archive")
            }

            // The local header: its own name and extra lengths place the data.
            let local = Int(localOffset)
            guard bytes.uint32(local) == 0x0403_4B50, let localNameLength = bytes.uint16(local + 26),
                let localExtraLength = bytes.uint16(local + 28), let localMethod = bytes.uint16(local + 8)
            else { throw fail("entry \(name): no local file header at byte \(local)") }
            guard Int(localMethod) == method else { throw fail("entry \(name): local and central headers disagree on compression") }
            guard bytes.slice(local + 30, Int(localNameLength)) == nameBytes else {
                throw fail("entry \(name): the local header names a different file")
            }
            let dataOffset = local + 30 + Int(localNameLength) + Int(localExtraLength)
            guard dataOffset <= directoryOffset, Int(size) <= directoryOffset - dataOffset else {
                throw fail("entry \(name): its \(size) bytes at \(dataOffset) run into the central directory or past the file")
            }
            guard byName[name] == nil else { throw fail("entry \(name) appears twice") }
            byName[name] = entries.count
            entries.append(Entry(name: name, dataOffset: dataOffset, size: Int(size), crc32: crc))
            cursor = next
        }
        self.entries = entries
        self.byName = byName
    }

    /// The entry called `name`, if any.
    func entry(_ name: String) -> Entry? { byName[name].map { entries[$0] } }

    /// The bytes of `entry`, after checking its CRC-32.
    /// - Throws: ``TorchCheckpointError/Problem/checksumMismatch(name:)``.
    func read(_ entry: Entry) throws(TorchCheckpointError) -> Data {
        guard let data = bytes.slice(entry.dataOffset, entry.size) else {
            throw TorchCheckpointError(path: path, .malformedZip(reason: "entry \(entry.name) lies outside the file"))
        }
        let crc = data.withUnsafeBytes { CRC32.checksum($0) }
        guard crc == entry.crc32 else { throw TorchCheckpointError(path: path, .checksumMismatch(name: entry.name)) }
        return data
    }
}
