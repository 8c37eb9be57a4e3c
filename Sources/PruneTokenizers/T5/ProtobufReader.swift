/// Reads protocol-buffer wire format field by field: just enough for SentencePiece's `ModelProto`.
///
/// This implementation matches: the protobuf encoding specification (varint, 64-bit, length-delimited and 32-bit
/// wire types; groups are refused). Every malformed input is a `TokenizerError.invalidField` naming the file and
/// the message being read, never a trap.
struct ProtobufReader {
    /// One field of a message.
    enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case bytes(ArraySlice<UInt8>)
        case fixed32(UInt32)
    }

    private let bytes: ArraySlice<UInt8>
    private var position: Int
    /// The file, for errors.
    let path: String
    /// The message being read (e.g. `ModelProto.pieces[3]`), for errors.
    let message: String

    init(_ bytes: ArraySlice<UInt8>, path: String, message: String) {
        self.bytes = bytes
        self.position = bytes.startIndex
        self.path = path
        self.message = message
    }

    private func malformed(_ what: String) -> TokenizerError {
        .invalidField(path: path, field: message, expected: "a SentencePiece model (protobuf)",
                      found: "\(what) at byte \(position)")
    }

    /// The next field number and value, or nil at the end of the message.
    mutating func next() throws(TokenizerError) -> (field: Int, value: Value)? {
        guard position < bytes.endIndex else { return nil }
        let key = try varint()
        let field = Int(key >> 3)
        guard field > 0 else { throw malformed("field number 0") }
        switch key & 7 {
        case 0:
            return (field, .varint(try varint()))
        case 1:
            return (field, .fixed64(UInt64(try littleEndian(count: 8))))
        case 2:
            let length = try varint()
            guard length <= UInt64(bytes.endIndex - position) else { throw malformed("a length past the end") }
            let start = position
            position += Int(length)
            return (field, .bytes(bytes[start..<position]))
        case 5:
            return (field, .fixed32(UInt32(try littleEndian(count: 4))))
        default:
            throw malformed("wire type \(key & 7)")
        }
    }

    private mutating func varint() throws(TokenizerError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < bytes.endIndex else { throw malformed("a truncated varint") }
            guard shift < 64 else { throw malformed("a varint longer than 10 bytes") }
            let byte = bytes[position]
            position += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    private mutating func littleEndian(count: Int) throws(TokenizerError) -> UInt64 {
        guard bytes.endIndex - position >= count else { throw malformed("a truncated fixed-width value") }
        var result: UInt64 = 0
        for offset in 0..<count { result |= UInt64(bytes[position + offset]) << (8 * UInt64(offset)) }
        position += count
        return result
    }
}
