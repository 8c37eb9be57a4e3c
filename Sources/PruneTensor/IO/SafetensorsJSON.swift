import Foundation

/// A JSON value as the safetensors header parser sees it.
///
/// Numbers keep their source text so integers are read exactly (offsets may exceed 2⁵³) and `3.0` can be
/// told apart from `3`; objects keep their members in source order.
enum SafetensorsJSON: Equatable {
    case object([(key: String, value: SafetensorsJSON)])
    case array([SafetensorsJSON])
    case string(String)
    /// The number's literal text, e.g. `"-12"`, `"3.5e2"`.
    case number(String)
    case bool(Bool)
    case null

    static func == (lhs: SafetensorsJSON, rhs: SafetensorsJSON) -> Bool {
        switch (lhs, rhs) {
        case (.object(let a), .object(let b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case (.array(let a), .array(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.bool(let a), .bool(let b)): a == b
        case (.null, .null): true
        default: false
        }
    }

    /// The value as an `Int` when it is an integer literal (no fraction or exponent) that fits.
    var integer: Int? {
        guard case .number(let text) = self, !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" })
        else { return nil }
        return Int(text)
    }

    /// A short rendering for error messages: the literal for scalars, compact JSON for containers (cut at
    /// 60 characters).
    var brief: String {
        let text: String
        switch self {
        case .object(let members):
            text = "{" + members.map { "\(Self.quoted($0.key)): \($0.value.brief)" }.joined(separator: ", ") + "}"
        case .array(let items): text = "[" + items.map(\.brief).joined(separator: ", ") + "]"
        case .string(let s): text = Self.quoted(s)
        case .number(let literal): text = literal
        case .bool(let b): text = b ? "true" : "false"
        case .null: text = "null"
        }
        return text.count > 60 ? String(text.prefix(57)) + "..." : text
    }

    /// The JSON type's name, for "expected …, found …" messages.
    var typeName: String {
        switch self {
        case .object: "object"
        case .array: "array"
        case .string: "string"
        case .number: "number"
        case .bool: "boolean"
        case .null: "null"
        }
    }

    /// `s` as a JSON string literal.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// Why a header failed to parse, with the byte offset (within the header) where it happened.
struct SafetensorsJSONError: Error {
    var offset: Int
    var reason: String
}

/// A strict RFC 8259 parser over UTF-8 bytes, small enough to audit.
///
/// The input must already be valid UTF-8 (the caller checks, so a bad byte gets its own error). Rejects
/// duplicate object keys, unescaped control characters, lone surrogate escapes and nesting deeper than
/// ``maximumDepth``; allows whitespace around the top-level value (safetensors pads headers with spaces).
struct SafetensorsJSONParser {
    static let maximumDepth = 64

    private let bytes: UnsafeRawBufferPointer
    private var position = 0
    private var depth = 0

    private init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Parses one JSON document filling all of `bytes`.
    ///
    /// - Throws: ``SafetensorsJSONError`` at the first syntax error.
    static func parse(_ bytes: UnsafeRawBufferPointer) throws(SafetensorsJSONError) -> SafetensorsJSON {
        var parser = SafetensorsJSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        if parser.position != bytes.count {
            throw parser.failure("unexpected \(parser.describeCurrent()) after the top-level value")
        }
        return value
    }

    // MARK: Scanning

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private func failure(_ reason: String) -> SafetensorsJSONError {
        SafetensorsJSONError(offset: position, reason: reason)
    }

    private func describeCurrent() -> String {
        guard let byte = current else { return "end of header" }
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x" + String(byte, radix: 16, uppercase: true)
    }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
            position += 1
        }
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws(SafetensorsJSONError) {
        guard current == byte else { throw failure("expected \(what), found \(describeCurrent())") }
        position += 1
    }

    // MARK: Values

    private mutating func parseValue() throws(SafetensorsJSONError) -> SafetensorsJSON {
        guard let byte = current else { throw failure("expected a value, found end of header") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        case UInt8(ascii: "t"): try parseLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try parseLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try parseLiteral("null"); return .null
        default: throw failure("expected a value, found \(describeCurrent())")
        }
    }

    private mutating func parseLiteral(_ word: StaticString) throws(SafetensorsJSONError) {
        let start = position
        let count = word.utf8CodeUnitCount
        guard bytes.count - position >= count,
            memcmp(bytes.baseAddress! + position, word.utf8Start, count) == 0
        else { throw failure("invalid literal, expected \(word)") }
        position = start + count
    }

    private mutating func enter() throws(SafetensorsJSONError) {
        depth += 1
        if depth > Self.maximumDepth { throw failure("nesting deeper than \(Self.maximumDepth) levels") }
    }

    private mutating func parseObject() throws(SafetensorsJSONError) -> SafetensorsJSON {
        try enter()
        position += 1  // {
        var members: [(key: String, value: SafetensorsJSON)] = []
        var seen = Set<String>()
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            position += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            let keyOffset = position
            guard current == UInt8(ascii: "\"") else {
                throw failure("expected a string key, found \(describeCurrent())")
            }
            let key = try parseString()
            if !seen.insert(key).inserted {
                throw SafetensorsJSONError(offset: keyOffset, reason: "duplicate key \(SafetensorsJSON.quoted(key))")
            }
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "':'")
            skipWhitespace()
            members.append((key, try parseValue()))
            skipWhitespace()
            if current == UInt8(ascii: ",") {
                position += 1
                continue
            }
            try expect(UInt8(ascii: "}"), "',' or '}'")
            depth -= 1
            return .object(members)
        }
    }

    private mutating func parseArray() throws(SafetensorsJSONError) -> SafetensorsJSON {
        try enter()
        position += 1  // [
        var items: [SafetensorsJSON] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            position += 1
            depth -= 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try parseValue())
            skipWhitespace()
            if current == UInt8(ascii: ",") {
                position += 1
                continue
            }
            try expect(UInt8(ascii: "]"), "',' or ']'")
            depth -= 1
            return .array(items)
        }
    }

    private mutating func parseNumber() throws(SafetensorsJSONError) -> SafetensorsJSON {
        let start = position
        func digits(_ parser: inout SafetensorsJSONParser) -> Int {
            let begin = parser.position
            while let byte = parser.current, byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                parser.position += 1
            }
            return parser.position - begin
        }
        if current == UInt8(ascii: "-") { position += 1 }
        if current == UInt8(ascii: "0") {
            position += 1
        } else if digits(&self) == 0 {
            throw failure("expected a digit, found \(describeCurrent())")
        }
        if current == UInt8(ascii: ".") {
            position += 1
            if digits(&self) == 0 { throw failure("expected a digit after '.', found \(describeCurrent())") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            if digits(&self) == 0 { throw failure("expected an exponent digit, found \(describeCurrent())") }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        return .number(text)
    }

    private mutating func parseHex4() throws(SafetensorsJSONError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = current else { throw failure("unterminated \\u escape") }
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("invalid hex digit \(describeCurrent()) in \\u escape")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    private mutating func parseString() throws(SafetensorsJSONError) -> String {
        position += 1  // opening quote
        var utf8: [UInt8] = []
        while true {
            guard let byte = current else { throw failure("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                return String(decoding: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"):
                position += 1
                guard let escape = current else { throw failure("unterminated string") }
                position += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try parseHex4()
                    if (0xD800..<0xDC00).contains(code) {
                        guard current == UInt8(ascii: "\\"), position + 1 < bytes.count,
                            bytes[position + 1] == UInt8(ascii: "u")
                        else { throw failure("lone high surrogate in \\u escape") }
                        position += 2
                        let low = try parseHex4()
                        guard (0xDC00..<0xE000).contains(low) else {
                            throw failure("invalid low surrogate in \\u escape")
                        }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(code) {
                        throw failure("lone low surrogate in \\u escape")
                    }
                    utf8.append(contentsOf: String(Character(Unicode.Scalar(code)!)).utf8)
                default:
                    position -= 1
                    throw failure("invalid escape \\\(describeCurrent())")
                }
            case 0..<0x20:
                throw failure("unescaped control character \(describeCurrent()) in string")
            default:
                utf8.append(byte)
                position += 1
            }
        }
    }
}
