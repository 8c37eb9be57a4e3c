/// Everything that can go wrong reading or writing a safetensors file.
///
/// Each case carries the file's path, the tensor key where one is involved, and the expected and actual
/// values; ``description`` renders it as one line, e.g.
/// `model.safetensors: tensor "w": data_offsets span 12 bytes, but F32 [2, 2] needs 16`.
///
/// Offsets and byte ranges inside the data section are relative to its start (byte `8 + headerLength`
/// of the file), as in the header's `data_offsets`.
public enum SafetensorsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed; `operation` names it (`open`, `mmap`, `write`, `rename`, …) and `reason`
    /// is `strerror(errno)`.
    case io(path: String, operation: String, reason: String)
    /// The path names a directory or other non-regular file.
    case notARegularFile(path: String)
    /// The file is shorter than the 8-byte header length prefix.
    case fileTooShort(path: String, size: Int)
    /// The header length prefix exceeds `limit` bytes (100 MB, as in the reference implementation).
    case headerTooLarge(path: String, headerLength: UInt64, limit: Int)
    /// `8 + headerLength` runs past the end of the file.
    case headerPastEnd(path: String, headerLength: UInt64, fileSize: Int)
    /// The header is not valid UTF-8; `byteOffset` is the first bad byte, counted from the start of the
    /// header (file offset `8 + byteOffset`).
    case invalidUTF8(path: String, byteOffset: Int)
    /// The header is not well-formed JSON; `byteOffset` counts from the start of the header.
    case invalidJSON(path: String, byteOffset: Int, reason: String)
    /// The header's top-level JSON value is not an object; `found` is its JSON type.
    case headerNotObject(path: String, found: String)
    /// A tensor entry lacks a required field (`dtype`, `shape` or `data_offsets`).
    case missingField(path: String, key: String, field: String)
    /// A tensor entry (or the entry itself, with `field` `""`) has the wrong JSON type or an invalid value.
    case invalidField(path: String, key: String, field: String, expected: String, found: String)
    /// The dtype is not one the safetensors format defines (``SafetensorsDType``; names are case-sensitive).
    case unsupportedDType(path: String, key: String, dtype: String)
    /// A packed sub-byte dtype (`F4`, `F6_*`) whose `bits` for the shape end inside a byte; the format requires
    /// every tensor to fill whole bytes.
    case bitCountNotByteAligned(path: String, key: String, dtype: String, shape: [Int], bits: Int)
    /// Reading: the tensor's dtype is valid in the file but PruneKit cannot convert it to a compute dtype
    /// (`F4`, `F6_E2M3`, `F6_E3M2`, `C64`; see ``SafetensorsDType/isReadable``).
    case unreadableDType(path: String, key: String, dtype: String)
    /// Reading: element `index` (row-major) of an integer tensor, `value`, is not exactly representable as
    /// float32, so it is refused rather than rounded.
    case inexactConversion(path: String, key: String, dtype: String, index: Int, value: String)
    /// `data_offsets` has `begin > end`.
    case offsetsReversed(path: String, key: String, begin: Int, end: Int)
    /// `data_offsets` reaches past the end of the data section of `dataSize` bytes.
    case offsetsOutOfRange(path: String, key: String, begin: Int, end: Int, dataSize: Int)
    /// `data_offsets` spans `actualBytes` but element count × dtype size is `expectedBytes`.
    case byteCountMismatch(path: String, key: String, dtype: String, shape: [Int], expectedBytes: Int, actualBytes: Int)
    /// Tensor `key` starts at `begin`, inside `previousKey`, which ends at `previousEnd`.
    case overlappingTensors(path: String, key: String, begin: Int, previousKey: String, previousEnd: Int)
    /// Bytes `begin..<end` of the data section belong to no tensor. `afterKey` is the tensor just before
    /// the gap (`nil` for a gap at the start).
    case gapInData(path: String, afterKey: String?, begin: Int, end: Int)
    /// `__metadata__` is not an object of strings; `key` is the offending metadata entry (or
    /// `__metadata__` itself) and `found` is what was there.
    case invalidMetadata(path: String, key: String, found: String)
    /// No tensor with this key; `available` is the number of tensors in the file and `nearest` a few keys
    /// that look alike, to help spot typos.
    case tensorNotFound(path: String, key: String, available: Int, nearest: [String])
    /// Writing: the key cannot name a tensor (`__metadata__` is reserved).
    case invalidTensorName(path: String, key: String, reason: String)

    /// The file involved.
    public var path: String {
        switch self {
        case .io(let path, _, _), .notARegularFile(let path), .fileTooShort(let path, _),
            .headerTooLarge(let path, _, _), .headerPastEnd(let path, _, _), .invalidUTF8(let path, _),
            .invalidJSON(let path, _, _), .headerNotObject(let path, _), .missingField(let path, _, _),
            .invalidField(let path, _, _, _, _), .unsupportedDType(let path, _, _),
            .bitCountNotByteAligned(let path, _, _, _, _), .unreadableDType(let path, _, _),
            .inexactConversion(let path, _, _, _, _),
            .offsetsReversed(let path, _, _, _), .offsetsOutOfRange(let path, _, _, _, _),
            .byteCountMismatch(let path, _, _, _, _, _), .overlappingTensors(let path, _, _, _, _),
            .gapInData(let path, _, _, _), .invalidMetadata(let path, _, _),
            .tensorNotFound(let path, _, _, _), .invalidTensorName(let path, _, _):
            path
        }
    }

    public var description: String {
        func q(_ key: String) -> String { SafetensorsJSON.quoted(key) }
        let detail: String
        switch self {
        case .io(_, let operation, let reason):
            detail = "\(operation) failed: \(reason)"
        case .notARegularFile:
            detail = "not a regular file"
        case .fileTooShort(_, let size):
            detail = "file is \(size) bytes, shorter than the 8-byte header length prefix"
        case .headerTooLarge(_, let length, let limit):
            detail = "header length \(length) exceeds the \(limit)-byte limit"
        case .headerPastEnd(_, let length, let size):
            detail = "header length \(length) runs past the end of the file (8 + \(length) > \(size) bytes)"
        case .invalidUTF8(_, let offset):
            detail = "header is not valid UTF-8 (first bad byte at header offset \(offset))"
        case .invalidJSON(_, let offset, let reason):
            detail = "header is not valid JSON at header offset \(offset): \(reason)"
        case .headerNotObject(_, let found):
            detail = "header must be a JSON object, found \(found)"
        case .missingField(_, let key, let field):
            detail = "tensor \(q(key)): missing \"\(field)\""
        case .invalidField(_, let key, let field, let expected, let found):
            let subject = field.isEmpty ? "tensor \(q(key))" : "tensor \(q(key)): \"\(field)\""
            detail = "\(subject) must be \(expected), found \(found)"
        case .unsupportedDType(_, let key, let dtype):
            detail = "tensor \(q(key)): dtype \(q(dtype)) is not a safetensors dtype (known: "
                + SafetensorsDType.allCases.map(\.name).joined(separator: ", ") + ")"
        case .bitCountNotByteAligned(_, let key, let dtype, let shape, let bits):
            detail = "tensor \(q(key)): \(dtype) \(shape) occupies \(bits) bits, which does not end on a byte boundary"
        case .unreadableDType(_, let key, let dtype):
            detail = "tensor \(q(key)): PruneKit cannot read \(dtype) tensors (the file is valid; other tensors read)"
        case .inexactConversion(_, let key, let dtype, let index, let value):
            detail = "tensor \(q(key)): \(dtype) element \(index) (\(value)) is not exactly representable as float32"
        case .offsetsReversed(_, let key, let begin, let end):
            detail = "tensor \(q(key)): data_offsets [\(begin), \(end)] begin after they end"
        case .offsetsOutOfRange(_, let key, let begin, let end, let size):
            detail = "tensor \(q(key)): data_offsets [\(begin), \(end)] out of range of the \(size)-byte data section"
        case .byteCountMismatch(_, let key, let dtype, let shape, let expected, let actual):
            detail = "tensor \(q(key)): data_offsets span \(actual) bytes, but \(dtype) \(shape) needs \(expected)"
        case .overlappingTensors(_, let key, let begin, let previousKey, let previousEnd):
            detail = "tensor \(q(key)) starts at data offset \(begin), inside tensor \(q(previousKey)) which ends at \(previousEnd)"
        case .gapInData(_, let afterKey, let begin, let end):
            let place = afterKey.map { "after tensor \(q($0))" } ?? "at the start of the data section"
            detail = "data bytes \(begin)..<\(end) \(place) belong to no tensor"
        case .invalidMetadata(_, let key, let found):
            detail = key == "__metadata__"
                ? "\"__metadata__\" must be an object of strings, found \(found)"
                : "\"__metadata__\" entry \(q(key)) must be a string, found \(found)"
        case .tensorNotFound(_, let key, let available, let nearest):
            let hint = nearest.isEmpty ? "" : "; similar: " + nearest.map(q).joined(separator: ", ")
            detail = "no tensor \(q(key)) among its \(available) tensors\(hint)"
        case .invalidTensorName(_, let key, let reason):
            detail = "cannot write tensor \(q(key)): \(reason)"
        }
        return "\(path): \(detail)"
    }
}
