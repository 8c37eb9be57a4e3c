import Foundation

/// Reads `torch.save` files without Python and without running anything they contain.
///
/// Two layouts are read:
/// - **zip** (PyTorch ≥ 1.6, the default): `<archive>/data.pkl` (the pickled object), `<archive>/data/<key>`
///   (one stored entry per storage), `<archive>/byteorder` (`little` or `big`; absent means little),
///   `<archive>/version`, `.format_version`, `.storage_alignment` and `.data/serialization_id`
///   (ignored). Entries must be stored, not compressed; each one's CRC-32 is checked.
/// - **legacy** (`_use_new_zipfile_serialization=False`): consecutive pickles — the magic number
///   `0x1950a86a20f9469cfc6c`, protocol version 1001, a system-info dict, the object, the sorted storage
///   keys — then every storage as an 8-byte little-endian element count and its little-endian elements.
///
/// Pickles go through ``RestrictedUnpickler``: tensors are rebuilt from `torch._utils._rebuild_tensor_v2`
/// (or `_rebuild_parameter`) over storages named by persistent ids `('storage', torch.<T>Storage, key,
/// location, numel)`; `collections.OrderedDict` and `torch.Size` are the only other globals. Any other
/// global is refused with an error naming it (the device `location` is recorded by torch but ignored here).
/// Whole storages are copied into memory, so this reader is meant for small files (mask λ, adapters), not
/// for multi-gigabyte state dicts.
///
/// ```swift
/// let value = try TorchCheckpoint.load(path: "mask/attn.pt")   // .list([.tensor(…), …])
/// let lambdas = value.sequence?.compactMap { if case .tensor(let t) = $0 { t.floatValues() } else { nil } }
/// ```
public enum TorchCheckpoint {
    /// The legacy format's magic number, `0x1950a86a20f9469cfc6c`, as little-endian bytes.
    static let legacyMagic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    /// Reads the file at `path`.
    /// - Throws: ``TorchCheckpointError`` naming `path`.
    public static func load(path: String) throws(TorchCheckpointError) -> TorchValue {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TorchCheckpointError(path: path, .unreadable(reason: "no such file"))
        }
        guard !isDirectory.boolValue else { throw TorchCheckpointError(path: path, .unreadable(reason: "it is a directory")) }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw TorchCheckpointError(path: path, .unreadable(reason: error.localizedDescription))
        }
        return try load(data: data, name: path)
    }

    /// Reads a checkpoint held in memory; `name` stands for the path in errors.
    /// - Throws: ``TorchCheckpointError``.
    public static func load(data: Data, name: String) throws(TorchCheckpointError) -> TorchValue {
        let bytes = BoundedBytes(data)
        if ZipArchive.looksLikeZip(bytes) { return try loadZip(bytes, path: name) }
        if bytes.uint8(0) == 0x80 { return try loadLegacy(bytes, path: name) }
        throw TorchCheckpointError(path: name, .notACheckpoint(firstBytes: bytes.hexPrefix(8)))
    }

    // MARK: zip

    static func loadZip(_ bytes: BoundedBytes, path: String) throws(TorchCheckpointError) -> TorchValue {
        let archive = try ZipArchive(bytes, path: path)
        guard let first = archive.entries.first, let slash = first.name.firstIndex(of: "/") else {
            throw TorchCheckpointError(path: path, .malformedZip(reason: "the archive has no <name>/ folder"))
        }
        let prefix = String(first.name[...slash])
        guard let pickleEntry = archive.entry(prefix + "data.pkl") else {
            throw TorchCheckpointError(path: path, .missingRecord(name: prefix + "data.pkl"))
        }
        var bigEndian = false
        if let orderEntry = archive.entry(prefix + "byteorder") {
            switch String(decoding: try archive.read(orderEntry), as: UTF8.self) {
            case "little": bigEndian = false
            case "big": bigEndian = true
            case let other:
                throw TorchCheckpointError(path: path, .malformedZip(reason: "\(prefix)byteorder is '\(other.prefix(16))', not little or big"))
            }
        }
        let pickle = [UInt8](try archive.read(pickleEntry))

        let storages = StorageCache()
        let persistentLoad: RestrictedUnpickler.PersistentLoad = { (id, offset) throws(TorchCheckpointError) in
            let (dtype, key, count) = try storageID(id, fields: 5, path: path, offset: offset)
            if let cached = storages.byKey[key] {
                guard cached.dtype == dtype, cached.elementCount == count else {
                    throw TorchCheckpointError(path: path, .badTensor(reason: "storage \(key) is referenced as two different types or sizes"))
                }
                return .storage(cached)
            }
            let name = prefix + "data/" + key
            guard let entry = archive.entry(name) else { throw TorchCheckpointError(path: path, .missingRecord(name: name)) }
            let (expected, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow, expected == entry.size else {
                throw TorchCheckpointError(
                    path: path,
                    .badTensor(reason: "storage \(key) holds \(entry.size) bytes, but \(count) × \(dtype.rawValue) needs \(overflow ? "more than Int.max" : String(expected))"))
            }
            let storage = TorchStorage(key: key, dtype: dtype, elementCount: count, bytes: try archive.read(entry), bigEndian: bigEndian)
            storages.byKey[key] = storage
            return .storage(storage)
        }
        let unpickler = RestrictedUnpickler(bytes: pickle, path: path, limits: .init(), persistentLoad: persistentLoad)
        defer { unpickler.arena.clear() }
        let (value, end) = try unpickler.load()
        guard end == pickle.count else {
            throw TorchCheckpointError(path: path, .malformedPickle(offset: end, reason: "\(pickle.count - end) bytes follow STOP in \(prefix)data.pkl"))
        }
        return try TorchValue.converting(value, path: path, budget: pickle.count + 16)
    }

    /// Storages already read, by key (a class so the persistent-load closure can fill it).
    final class StorageCache {
        var byKey: [String: TorchStorage] = [:]
    }

    /// Checks a persistent id `('storage', torch.<T>Storage, key, location, numel[, view_metadata])`.
    static func storageID(_ id: PickleValue, fields: Int, path: String, offset: Int) throws(TorchCheckpointError) -> (TorchDType, String, Int) {
        func bad(_ reason: String) -> TorchCheckpointError { TorchCheckpointError(path: path, .malformedPickle(offset: offset, reason: reason)) }
        guard case .tuple(let parts) = id, parts.count == fields else {
            throw bad("a persistent id that is not a \(fields)-tuple ('storage', type, key, location, numel\(fields == 6 ? ", view" : ""))")
        }
        guard case .string("storage") = parts[0] else { throw bad("a persistent id of kind \(parts[0].typeName) other than 'storage'") }
        guard case .global(.storageType(let dtype, _)) = parts[1] else { throw bad("a persistent id whose type is a \(parts[1].typeName), not a storage type") }
        guard case .string(let key) = parts[2], !key.isEmpty, case .string = parts[3] else { throw bad("a persistent id without a string key and location") }
        guard case .int(let count) = parts[4], count >= 0 else { throw bad("a persistent id with a bad element count") }
        if fields == 6, case .none = parts[5] {} else if fields == 6 {
            throw TorchCheckpointError(path: path, .badTensor(reason: "storage views of the pre-1.0 legacy format are not supported"))
        }
        return (dtype, key, count)
    }

    // MARK: legacy

    static func loadLegacy(_ bytes: BoundedBytes, path: String) throws(TorchCheckpointError) -> TorchValue {
        let all = [UInt8](bytes.data)
        let arena = PickleArena()
        defer { arena.clear() }
        let noStorage: RestrictedUnpickler.PersistentLoad = { (_, offset) throws(TorchCheckpointError) in
            throw TorchCheckpointError(path: path, .malformedPickle(offset: offset, reason: "a persistent id outside the object pickle"))
        }
        func header(at start: Int) throws(TorchCheckpointError) -> (PickleValue, Int) {
            try RestrictedUnpickler(bytes: all, path: path, limits: .init(), persistentLoad: noStorage, arena: arena).load(from: start)
        }
        let (magic, afterMagic) = try header(at: 0)
        guard case .bigInt(let magicBytes) = magic, magicBytes == legacyMagic else {
            throw TorchCheckpointError(path: path, .notACheckpoint(firstBytes: bytes.hexPrefix(8) + ", a pickle without torch's legacy magic number"))
        }
        let (version, afterVersion) = try header(at: afterMagic)
        guard case .int(1001) = version else {
            throw TorchCheckpointError(path: path, .malformedPickle(offset: afterMagic, reason: "legacy protocol version is not 1001"))
        }
        let (_, afterInfo) = try header(at: afterVersion)

        // Pass 1: the object pickle with placeholder storages, to learn each storage's type and size.
        var seen: [String: (dtype: TorchDType, count: Int)] = [:]
        let recording = StorageCache()
        let (_, afterObject) = try RestrictedUnpickler(
            bytes: all, path: path, limits: .init(),
            persistentLoad: { (id, offset) throws(TorchCheckpointError) in
                let (dtype, key, count) = try storageID(id, fields: 6, path: path, offset: offset)
                if let earlier = recording.byKey[key], earlier.dtype != dtype || earlier.elementCount != count {
                    throw TorchCheckpointError(path: path, .badTensor(reason: "storage \(key) is referenced as two different types or sizes"))
                }
                let placeholder = TorchStorage(key: key, dtype: dtype, elementCount: count, bytes: Data(), bigEndian: false)
                recording.byKey[key] = placeholder
                return .storage(placeholder)
            },
            arena: arena
        ).load(from: afterInfo)
        for (key, storage) in recording.byKey { seen[key] = (storage.dtype, storage.elementCount) }

        let (keysValue, afterKeys) = try header(at: afterObject)
        guard case .list(let keyList) = keysValue else {
            throw TorchCheckpointError(path: path, .malformedPickle(offset: afterObject, reason: "the storage key list is a \(keysValue.typeName)"))
        }
        // Storage records: 8-byte element count, then the elements.
        var located: [String: TorchStorage] = [:]
        var cursor = afterKeys
        for item in keyList.items {
            guard case .string(let key) = item, let (dtype, count) = seen[key] else {
                throw TorchCheckpointError(path: path, .badTensor(reason: "the storage key list names a storage the object does not use"))
            }
            guard let stored = bytes.uint64(cursor), stored == UInt64(count) else {
                throw TorchCheckpointError(path: path, .badTensor(reason: "storage \(key): the file is truncated or its element count differs from \(count)"))
            }
            let (size, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow, let data = bytes.slice(cursor + 8, size) else {
                throw TorchCheckpointError(path: path, .badTensor(reason: "storage \(key): \(count) × \(dtype.rawValue) runs past the end of the file"))
            }
            located[key] = TorchStorage(key: key, dtype: dtype, elementCount: count, bytes: data, bigEndian: false)
            cursor += 8 + size
        }
        guard located.count == seen.count else {
            throw TorchCheckpointError(path: path, .badTensor(reason: "the storage key list omits storages the object uses"))
        }
        // Pass 2: the object pickle again, now over the real storages.
        let (value, _) = try RestrictedUnpickler(
            bytes: all, path: path, limits: .init(),
            persistentLoad: { (id, offset) throws(TorchCheckpointError) in
                let (_, key, _) = try storageID(id, fields: 6, path: path, offset: offset)
                guard let storage = located[key] else {
                    throw TorchCheckpointError(path: path, .badTensor(reason: "storage \(key) has no record"))
                }
                return .storage(storage)
            },
            arena: arena
        ).load(from: afterInfo)
        return try TorchValue.converting(value, path: path, budget: afterObject - afterInfo + 16)
    }
}
