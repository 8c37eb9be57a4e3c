import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A memory-mapped [safetensors](https://github.com/huggingface/safetensors) file.
///
/// ``open(_:)`` maps the file (`PROT_READ | PROT_WRITE`, `MAP_PRIVATE`: copy-on-write, never written back), validates the whole header up front, and
/// keeps the mapping alive for as long as this value or any tensor borrowed from it lives; the file is
/// never read into memory as a whole — pages are faulted in as tensors are touched.
///
/// The format: an 8-byte little-endian header length `N`, `N` bytes of UTF-8 JSON mapping each tensor
/// name to `{"dtype", "shape", "data_offsets": [begin, end]}` (plus an optional `"__metadata__"` object
/// of strings), then the data section, which the tensors' byte ranges must tile exactly.
///
/// ```swift
/// let file = try SafetensorsFile.open("unet.safetensors")
/// let weight = try file.tensor("conv_in.weight")        // float32 [320, 4, 3, 3]
/// ```
///
/// Every dtype the format defines opens (``SafetensorsDType``); float tensors read in their own type or
/// converted, boolean, integer and 8-bit float tensors read as float32 (exactly, or not at all), and the few
/// dtypes PruneKit cannot read (packed 4- and 6-bit floats, complex64) throw only when that tensor is read.
///
/// `float32` tensors are zero-copy views of the mapping. The mapping is private copy-on-write: updating a
/// loaded weight in place (``Tensor/assign(_:)``, an optimizer step) copies only the touched pages and
/// never changes the file. Truncating the file while it
/// is mapped makes later reads fault (`SIGBUS`), as with any memory-mapped file.
public struct SafetensorsFile: Sendable {
    /// Where one tensor lives and what it holds.
    public struct TensorInfo: Sendable, Equatable {
        /// The tensor's name in the header.
        public let key: String
        /// The element type stored in the file; its ``SafetensorsDType/computeDType`` is the ``DType`` it reads
        /// as unconverted, if any.
        public let dtype: SafetensorsDType
        /// Extent of each axis (`[]` for a scalar).
        public let shape: [Int]
        /// The bytes it occupies, relative to the start of the data section (the header's `data_offsets`).
        public let byteRange: Range<Int>

        /// Number of elements (1 for a scalar, 0 when any axis is 0).
        public var count: Int { shape.reduce(1, *) }
    }

    /// The path the file was opened from.
    public let path: String
    /// The header's `__metadata__` entries (empty when absent).
    public let metadata: [String: String]
    /// Tensor names, sorted.
    public let keys: [String]
    /// File offset of the data section: `8 + headerLength`.
    public let dataOffset: Int

    private let entries: [String: TensorInfo]
    private let mapping: SafetensorsMapping

    /// Reads headers larger than this are rejected, as in the reference implementation.
    public static let maximumHeaderLength = 100_000_000

    /// Maps and validates the file at `path`.
    ///
    /// - Throws: ``SafetensorsError``: `.io` or `.notARegularFile` when the file cannot be mapped, and a
    ///   case naming the problem (and the tensor key, where one is involved) when the header is malformed:
    ///   file shorter than 8 bytes, header length too large or past the end, header not UTF-8 / JSON /
    ///   an object, entries with missing or mistyped fields, dtypes the format does not define, offsets out of
    ///   range, reversed or overlapping, byte spans that disagree with dtype × shape (or packed sub-byte
    ///   elements that end inside a byte), gaps in the data section, non-string metadata. Entries PruneKit
    ///   cannot read (``SafetensorsDType/isReadable``) are validated like the others and do not prevent opening.
    public static func open(_ path: String) throws(SafetensorsError) -> SafetensorsFile {
        let mapping = try SafetensorsMapping(path: path)
        return try SafetensorsFile(path: path, mapping: mapping)
    }

    /// Validates a whole safetensors file held in memory, through the same header checks as ``open(_:)-(String)``.
    ///
    /// The bytes are copied into memory owned by the result (so `bytes` need not outlive the call); tensors
    /// borrow from that copy exactly as they borrow from a mapping. The fuzzer (`Fuzz/SafetensorsFuzzer`) drives
    /// the reader through this entry point.
    ///
    /// - Parameters:
    ///   - bytes: The file's contents: header length prefix, header, data section.
    ///   - path: A name for the bytes in errors and in ``path``.
    /// - Throws: ``SafetensorsError``, the same cases as ``open(_:)-(String)`` except the system ones.
    public static func parse(_ bytes: UnsafeRawBufferPointer, path: String = "<memory>") throws(SafetensorsError)
        -> SafetensorsFile
    {
        guard bytes.count >= 8 else { throw .fileTooShort(path: path, size: bytes.count) }
        return try SafetensorsFile(path: path, mapping: SafetensorsMapping(copying: bytes))
    }

    /// Maps and validates the file at `url` (a file URL); see ``open(_:)-(String)``.
    ///
    /// - Throws: ``SafetensorsError``, as ``open(_:)-(String)``.
    public static func open(_ url: URL) throws(SafetensorsError) -> SafetensorsFile {
        try open(url.path)
    }

    /// Where `key` lives and what it holds, or `nil` when the file has no such tensor.
    public func info(_ key: String) -> TensorInfo? { entries[key] }

    /// Whether the file holds a tensor named `key`.
    public func contains(_ key: String) -> Bool { entries[key] != nil }

    /// The tensor named `key`, contiguous and row-major with the shape stored in the file.
    ///
    /// - Parameters:
    ///   - key: The tensor's name.
    ///   - dtype: The element type of the result; `nil` means `float32`. When it equals the stored dtype
    ///     the result is a zero-copy view of the (copy-on-write) mapping (copied instead in the rare case the
    ///     bytes are not aligned to the element size, which files written by the Python library never
    ///     are); otherwise it is a converted copy (`F16`, `BF16` widen exactly; `F64` rounds). Boolean,
    ///     integer and 8-bit float tensors are decoded to float32 exactly (`BOOL` as 0 or 1, fp8 through
    ///     ``Float8``), then narrowed to `dtype` if another is asked for.
    /// - Throws: ``SafetensorsError/tensorNotFound(path:key:available:nearest:)`` when there is no such
    ///   tensor; ``SafetensorsError/unreadableDType(path:key:dtype:)`` for `F4`, `F6_*` and `C64` tensors;
    ///   ``SafetensorsError/inexactConversion(path:key:dtype:index:value:)`` for an integer float32 cannot hold
    ///   exactly (beyond ±2²⁴ and not on float32's grid there).
    public func tensor(_ key: String, as dtype: DType? = nil) throws(SafetensorsError) -> Tensor {
        guard let info = entries[key] else {
            throw .tensorNotFound(
                path: path, key: key, available: entries.count, nearest: Self.nearest(to: key, in: keys))
        }
        let target = dtype ?? .float32
        guard let storedType = info.dtype.computeDType else { return try decodedTensor(info, as: target) }
        let count = info.count
        if count == 0 {
            return Tensor(storage: Storage(uninitializedCount: 0, dtype: target), shape: info.shape)
        }
        if target != storedType {
            // Converted tensors are read with pread into a transient buffer rather than through the mapping, so
            // the stored bytes (e.g. a float16 checkpoint) never become resident in this process: loading a
            // checkpoint costs one float32 copy, not a float32 copy plus the touched half-precision pages.
            let stored = Storage(uninitializedCount: count, dtype: storedType)
            try storedBytes(of: info, into: stored.bytes)
            return Tensor(storage: stored.converted(to: target), shape: info.shape)
        }
        let pointer = mapping.base + dataOffset + info.byteRange.lowerBound
        let storage: Storage
        if Int(bitPattern: pointer) % storedType.byteSize == 0 {
            storage = Storage(borrowing: pointer, count: count, dtype: storedType, owner: mapping)
        } else {
            storage = Storage(uninitializedCount: count, dtype: storedType)
            memcpy(storage.bytes, pointer, info.byteRange.count)
        }
        return Tensor(storage: storage, shape: info.shape)
    }

    /// The tensor named `key` exactly as the file stores it: its dtype, shape and bytes (row-major,
    /// little-endian), for copying or slicing tensors without converting a single element.
    ///
    /// - Throws: ``SafetensorsError/tensorNotFound(path:key:available:nearest:)`` when there is no such tensor,
    ///   ``SafetensorsError/io(path:operation:reason:)`` when the bytes cannot be read.
    public func storedTensor(_ key: String) throws(SafetensorsError) -> StoredTensor {
        guard let info = entries[key] else {
            throw .tensorNotFound(
                path: path, key: key, available: entries.count, nearest: Self.nearest(to: key, in: keys))
        }
        let count = info.byteRange.count
        guard count > 0 else { return StoredTensor(unchecked: info.dtype, shape: info.shape, bytes: []) }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 16)
        defer { buffer.deallocate() }
        try storedBytes(of: info, into: buffer)
        return StoredTensor(unchecked: info.dtype, shape: info.shape, bytes: Array(UnsafeRawBufferPointer(start: buffer, count: count)))
    }

    /// A tensor whose stored dtype has no compute dtype: decoded to float32 (then narrowed to `target`).
    private func decodedTensor(_ info: TensorInfo, as target: DType) throws(SafetensorsError) -> Tensor {
        guard info.dtype.isReadable else { throw .unreadableDType(path: path, key: info.key, dtype: info.dtype.name) }
        let floats = Storage(uninitializedCount: info.count, dtype: .float32)
        if info.count > 0 {
            let raw = UnsafeMutableRawPointer.allocate(byteCount: info.byteRange.count, alignment: 16)
            defer { raw.deallocate() }
            try storedBytes(of: info, into: raw)
            do {
                try StoredElementDecoder.decode(raw, count: info.count, dtype: info.dtype, into: floats.floats)
            } catch {
                throw .inexactConversion(
                    path: path, key: info.key, dtype: info.dtype.name, index: error.index, value: error.value)
            }
        }
        let storage = target == .float32 ? floats : floats.converted(to: target)
        return Tensor(storage: storage, shape: info.shape)
    }

    /// Copies the stored bytes of one tensor to `destination`: read from the file (not the mapping) when the
    /// file is mapped, copied from memory for an in-memory file (``parse(_:path:)``).
    private func storedBytes(of info: TensorInfo, into destination: UnsafeMutableRawPointer) throws(SafetensorsError) {
        if mapping.isFileBacked {
            try readBytes(of: info, into: destination)
        } else {
            memcpy(destination, mapping.base + dataOffset + info.byteRange.lowerBound, info.byteRange.count)
        }
    }

    /// The stored bytes of one tensor, read from the file with `pread` into `destination`.
    private func readBytes(of info: TensorInfo, into destination: UnsafeMutableRawPointer) throws(SafetensorsError) {
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw .io(path: path, operation: "open", reason: String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        var done = 0
        let total = info.byteRange.count
        while done < total {
            let result = pread(descriptor, destination + done, total - done, off_t(dataOffset + info.byteRange.lowerBound + done))
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else {
                let reason = result == 0 ? "unexpected end of file" : String(cString: strerror(errno))
                throw .io(path: path, operation: "read \(info.key)", reason: reason)
            }
            done += result
        }
    }

    /// True when `tensor`'s elements live in this file's mapping — a zero-copy view rather than a copy.
    public func sharesMemory(with tensor: Tensor) -> Bool {
        let start = UnsafeRawPointer(tensor.storage.bytes)
        let base = UnsafeRawPointer(mapping.base)
        return start >= base && start < base + mapping.size
    }

    // MARK: - Header validation

    private init(path: String, mapping: SafetensorsMapping) throws(SafetensorsError) {
        self.path = path
        self.mapping = mapping
        let fileSize = mapping.size
        guard fileSize >= 8 else { throw .fileTooShort(path: path, size: fileSize) }
        let headerLength = UInt64(littleEndian: UnsafeRawPointer(mapping.base).loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(Self.maximumHeaderLength) else {
            throw .headerTooLarge(path: path, headerLength: headerLength, limit: Self.maximumHeaderLength)
        }
        guard 8 + Int(headerLength) <= fileSize else {
            throw .headerPastEnd(path: path, headerLength: headerLength, fileSize: fileSize)
        }
        dataOffset = 8 + Int(headerLength)
        let header = UnsafeRawBufferPointer(start: mapping.base + 8, count: Int(headerLength))
        let parsed = try Self.parseHeader(header, dataSize: fileSize - dataOffset, path: path)
        entries = parsed.entries
        metadata = parsed.metadata
        keys = parsed.entries.keys.sorted()
    }

    /// Validates the header JSON and the tiling of a data section of `dataSize` bytes.
    private static func parseHeader(
        _ header: UnsafeRawBufferPointer, dataSize: Int, path: String
    ) throws(SafetensorsError) -> (entries: [String: TensorInfo], metadata: [String: String]) {
        if let bad = firstInvalidUTF8Offset(header) { throw .invalidUTF8(path: path, byteOffset: bad) }
        let json: SafetensorsJSON
        do {
            json = try SafetensorsJSONParser.parse(header)
        } catch {
            throw .invalidJSON(path: path, byteOffset: error.offset, reason: error.reason)
        }
        guard case .object(let members) = json else {
            throw .headerNotObject(path: path, found: json.typeName)
        }

        var entries: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (key, value) in members {
            if key == "__metadata__" {
                guard case .object(let pairs) = value else {
                    throw .invalidMetadata(path: path, key: key, found: value.brief)
                }
                for (name, item) in pairs {
                    guard case .string(let text) = item else {
                        throw .invalidMetadata(path: path, key: name, found: item.brief)
                    }
                    metadata[name] = text
                }
            } else {
                entries[key] = try parseEntry(key: key, value, dataSize: dataSize, path: path)
            }
        }

        // The byte ranges must tile the data section: sorted by start, each begins where the last ended.
        let ordered = entries.values.sorted {
            ($0.byteRange.lowerBound, $0.byteRange.upperBound, $0.key)
                < ($1.byteRange.lowerBound, $1.byteRange.upperBound, $1.key)
        }
        var covered = 0
        var previous: TensorInfo?
        for info in ordered {
            let begin = info.byteRange.lowerBound
            if begin < covered, let previous {
                throw .overlappingTensors(
                    path: path, key: info.key, begin: begin, previousKey: previous.key, previousEnd: covered)
            }
            if begin > covered {
                throw .gapInData(path: path, afterKey: previous?.key, begin: covered, end: begin)
            }
            covered = info.byteRange.upperBound
            previous = info
        }
        if covered < dataSize {
            throw .gapInData(path: path, afterKey: previous?.key, begin: covered, end: dataSize)
        }
        return (entries, metadata)
    }

    private static func parseEntry(
        key: String, _ value: SafetensorsJSON, dataSize: Int, path: String
    ) throws(SafetensorsError) -> TensorInfo {
        guard case .object(let fields) = value else {
            throw .invalidField(
                path: path, key: key, field: "", expected: "an object with dtype, shape and data_offsets",
                found: value.brief)
        }
        func field(_ name: String) throws(SafetensorsError) -> SafetensorsJSON {
            guard let found = fields.first(where: { $0.key == name }) else {
                throw .missingField(path: path, key: key, field: name)
            }
            return found.value
        }
        func invalid(_ name: String, _ expected: String, _ found: SafetensorsJSON) -> SafetensorsError {
            .invalidField(path: path, key: key, field: name, expected: expected, found: found.brief)
        }

        let dtypeValue = try field("dtype")
        guard case .string(let dtypeName) = dtypeValue else {
            throw invalid("dtype", "a string such as \"F32\"", dtypeValue)
        }
        guard let dtype = SafetensorsDType(name: dtypeName) else {
            throw .unsupportedDType(path: path, key: key, dtype: dtypeName)
        }

        let shapeValue = try field("shape")
        let shapeExpectation = "an array of non-negative integers"
        guard case .array(let extents) = shapeValue else { throw invalid("shape", shapeExpectation, shapeValue) }
        var shape: [Int] = []
        for extent in extents {
            guard let n = extent.integer, n >= 0 else { throw invalid("shape", shapeExpectation, shapeValue) }
            shape.append(n)
        }
        // The product of the non-zero extents bounds every row-major stride of the shape (Layout computes them
        // as suffix products), so it must fit in Int even when a zero extent makes the element count 0.
        var nonZeroProduct = 1
        for n in shape where n != 0 {
            let (product, overflow) = nonZeroProduct.multipliedReportingOverflow(by: n)
            guard !overflow else {
                let expected = shape.contains(0)
                    ? "a shape whose non-zero extents multiply to a value that fits in Int"
                    : "a shape whose element count fits in Int"
                throw invalid("shape", expected, shapeValue)
            }
            nonZeroProduct = product
        }
        let count = shape.contains(0) ? 0 : nonZeroProduct

        let offsetsValue = try field("data_offsets")
        let offsetsExpectation = "an array of two non-negative integers [begin, end]"
        guard case .array(let bounds) = offsetsValue, bounds.count == 2,
            let begin = bounds[0].integer, let end = bounds[1].integer, begin >= 0, end >= 0
        else { throw invalid("data_offsets", offsetsExpectation, offsetsValue) }
        guard begin <= end else { throw .offsetsReversed(path: path, key: key, begin: begin, end: end) }
        guard end <= dataSize else {
            throw .offsetsOutOfRange(path: path, key: key, begin: begin, end: end, dataSize: dataSize)
        }

        let expectedBytes: Int
        switch dtype.storageSize(ofCount: count) {
        case .bytes(let bytes): expectedBytes = bytes
        case .overflow: expectedBytes = Int.max
        case .partialByte(let bits):
            throw .bitCountNotByteAligned(path: path, key: key, dtype: dtypeName, shape: shape, bits: bits)
        }
        guard expectedBytes == end - begin else {
            throw .byteCountMismatch(
                path: path, key: key, dtype: dtypeName, shape: shape, expectedBytes: expectedBytes,
                actualBytes: end - begin)
        }
        return TensorInfo(key: key, dtype: dtype, shape: shape, byteRange: begin..<end)
    }

    /// Offset of the first byte that does not start or continue a valid UTF-8 scalar, or `nil`.
    private static func firstInvalidUTF8Offset(_ bytes: UnsafeRawBufferPointer) -> Int? {
        // Fast path: pure ASCII, which almost every header is.
        if !bytes.contains(where: { $0 >= 0x80 }) { return nil }
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded): offset += encoded.count
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    /// Up to three keys within a small edit distance of `key`, closest first.
    private static func nearest(to key: String, in keys: [String]) -> [String] {
        let target = Array(key.utf8)
        let limit = max(2, target.count / 4)
        var scored: [(distance: Int, key: String)] = []
        for candidate in keys {
            let other = Array(candidate.utf8)
            guard abs(other.count - target.count) <= limit else { continue }
            let distance = EditDistance.bytes(target, other)
            if distance <= limit { scored.append((distance, candidate)) }
        }
        return scored.sorted { ($0.distance, $0.key) < ($1.distance, $1.key) }.prefix(3).map(\.key)
    }
}

extension DType {
    /// The dtype's name in a safetensors header (`F32`, `F16`, `BF16`, `F64`).
    var safetensorsName: String { SafetensorsDType(self).name }
}

/// A private copy-on-write mapping of a whole file (or an owned in-memory copy of one), released when the
/// last ``SafetensorsFile`` and the last ``Storage`` borrowing from it are gone.
final class SafetensorsMapping: @unchecked Sendable {
    /// The first byte of the file. Writes (an optimizer updating a loaded weight) land in private
    /// copy-on-write pages and never reach the file.
    let base: UnsafeMutableRawPointer
    /// The file's size in bytes (at least 8).
    let size: Int
    /// True for a mapped file (released with `munmap`), false for an owned copy from ``init(copying:)``.
    let isFileBacked: Bool

    /// An owned, 16-byte-aligned copy of `bytes` (at least 8 of them), freed on deinit.
    init(copying bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count >= 8, "a safetensors file has at least the 8-byte length prefix")
        base = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 16)
        base.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        size = bytes.count
        isFileBacked = false
    }

    /// Maps the regular file at `path`; files shorter than 8 bytes are reported here.
    init(path: String) throws(SafetensorsError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Self.systemError(path, "open") }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw Self.systemError(path, "fstat") }
        guard status.st_mode & S_IFMT == S_IFREG else { throw .notARegularFile(path: path) }
        let size = Int(status.st_size)
        guard size >= 8 else { throw .fileTooShort(path: path, size: size) }
        guard let base = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0),
            base != UnsafeMutableRawPointer(bitPattern: -1)
        else { throw Self.systemError(path, "mmap") }
        self.base = base
        self.size = size
        isFileBacked = true
    }

    deinit {
        if isFileBacked { munmap(base, size) } else { base.deallocate() }
    }

    static func systemError(_ path: String, _ operation: String) -> SafetensorsError {
        .io(path: path, operation: operation, reason: String(cString: strerror(errno)))
    }
}
