import Foundation
import PruneTensor
import Testing

/// A hand-built broken file and the error opening it must raise.
struct MalformedSafetensors: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    /// The expected error, given the path the file was written to.
    let expected: @Sendable (String) -> SafetensorsError

    var testDescription: String { name }

    init(_ name: String, _ bytes: [UInt8], _ expected: @escaping @Sendable (String) -> SafetensorsError) {
        self.name = name
        self.bytes = bytes
        self.expected = expected
    }

    static func json(
        _ name: String, _ json: String, data: [UInt8] = [], headerLength: UInt64? = nil,
        _ expected: @escaping @Sendable (String) -> SafetensorsError
    ) -> MalformedSafetensors {
        MalformedSafetensors(name, SafetensorsFixture.bytes(json: json, data: data, headerLength: headerLength), expected)
    }

    static let zeros8 = [UInt8](repeating: 0, count: 8)
    static let zeros12 = [UInt8](repeating: 0, count: 12)

    static let all: [MalformedSafetensors] = [
        .init("empty file", []) { .fileTooShort(path: $0, size: 0) },
        .init("truncated file", [0x10, 0, 0, 0]) { .fileTooShort(path: $0, size: 4) },
        .json("header length past the end of the file", "{}", headerLength: 1000) {
            .headerPastEnd(path: $0, headerLength: 1000, fileSize: 10)
        },
        .json("huge header length", "{}", headerLength: UInt64.max) {
            .headerTooLarge(path: $0, headerLength: UInt64.max, limit: 100_000_000)
        },
        .json("header length just over the limit", "{}", headerLength: 100_000_001) {
            .headerTooLarge(path: $0, headerLength: 100_000_001, limit: 100_000_000)
        },
        .json("invalid JSON", #"{"a":}"#) {
            .invalidJSON(path: $0, byteOffset: 5, reason: "expected a value, found '}'")
        },
        .json("truncated JSON", #"{"a":{"dtype":"F32""#) {
            .invalidJSON(path: $0, byteOffset: 19, reason: "expected ',' or '}', found end of header")
        },
        .json("trailing garbage after the JSON object", "{} x") {
            .invalidJSON(path: $0, byteOffset: 3, reason: "unexpected 'x' after the top-level value")
        },
        .json("duplicate tensor name", #"{"a":{},"a":{}}"#) {
            .invalidJSON(path: $0, byteOffset: 8, reason: #"duplicate key "a""#)
        },
        .json("nesting too deep", String(repeating: "[", count: 100)) {
            .invalidJSON(path: $0, byteOffset: 64, reason: "nesting deeper than 64 levels")
        },
        .json("non-object JSON", "[1, 2]") { .headerNotObject(path: $0, found: "array") },
        .init(
            "non-UTF-8 header bytes",
            SafetensorsFixture.bytes(header: Array(#"{"a"#.utf8) + [0xFF, 0xFE] + Array(#"":{}}"#.utf8))
        ) { .invalidUTF8(path: $0, byteOffset: 3) },
        .json("unknown dtype (I128)", #"{"ids":{"dtype":"I128","shape":[1],"data_offsets":[0,16]}}"#, data: zeros8 + zeros8) {
            .unsupportedDType(path: $0, key: "ids", dtype: "I128")
        },
        .json("entry that is not an object", #"{"a":[1]}"#) {
            .invalidField(
                path: $0, key: "a", field: "", expected: "an object with dtype, shape and data_offsets", found: "[1]")
        },
        .json("missing data_offsets", #"{"a":{"dtype":"F32","shape":[1]}}"#) {
            .missingField(path: $0, key: "a", field: "data_offsets")
        },
        .json("missing dtype", #"{"a":{"shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]) {
            .missingField(path: $0, key: "a", field: "dtype")
        },
        .json("dtype that is not a string", #"{"a":{"dtype":32,"shape":[1],"data_offsets":[0,4]}}"#) {
            .invalidField(path: $0, key: "a", field: "dtype", expected: #"a string such as "F32""#, found: "32")
        },
        .json("shape that is not an array", #"{"a":{"dtype":"F32","shape":"2","data_offsets":[0,8]}}"#) {
            .invalidField(
                path: $0, key: "a", field: "shape", expected: "an array of non-negative integers", found: #""2""#)
        },
        .json("negative shape", #"{"a":{"dtype":"F32","shape":[2,-1],"data_offsets":[0,8]}}"#) {
            .invalidField(
                path: $0, key: "a", field: "shape", expected: "an array of non-negative integers", found: "[2, -1]")
        },
        .json("non-integer shape", #"{"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}"#) {
            .invalidField(
                path: $0, key: "a", field: "shape", expected: "an array of non-negative integers", found: "[2.0]")
        },
        .json(
            "shape whose element count overflows",
            #"{"a":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,8]}}"#
        ) {
            .invalidField(
                path: $0, key: "a", field: "shape", expected: "a shape whose element count fits in Int",
                found: "[4294967296, 4294967296, 4]")
        },
        .json("data_offsets with three entries", #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#) {
            .invalidField(
                path: $0, key: "a", field: "data_offsets",
                expected: "an array of two non-negative integers [begin, end]", found: "[0, 4, 8]")
        },
        .json("offsets out of range", #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: zeros8) {
            .offsetsOutOfRange(path: $0, key: "a", begin: 0, end: 16, dataSize: 8)
        },
        .json("offsets that begin after they end", #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, data: zeros8) {
            .offsetsReversed(path: $0, key: "a", begin: 8, end: 0)
        },
        .json("bytes not matching the shape", #"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"#, data: zeros12) {
            .byteCountMismatch(path: $0, key: "w", dtype: "F32", shape: [2, 2], expectedBytes: 16, actualBytes: 12)
        },
        .json(
            "overlapping offsets",
            #"{"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
            data: zeros12
        ) { .overlappingTensors(path: $0, key: "b", begin: 4, previousKey: "a", previousEnd: 8) },
        .json(
            "gap in data",
            #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
            data: zeros12
        ) { .gapInData(path: $0, afterKey: "a", begin: 4, end: 8) },
        .json("gap at the start of the data", #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: zeros8) {
            .gapInData(path: $0, afterKey: nil, begin: 0, end: 4)
        },
        .json("trailing bytes after the last tensor", #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: zeros8) {
            .gapInData(path: $0, afterKey: "a", begin: 4, end: 8)
        },
        // Truncation and header length.
        .init("file cut inside the header", SafetensorsFixture.bytes(json: #"{"a":{"dtype":"F32","shape":[1]"#, headerLength: 40)) {
            .headerPastEnd(path: $0, headerLength: 40, fileSize: 39)
        },
        .json(
            "file cut inside the data section", #"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#, data: zeros12
        ) { .offsetsOutOfRange(path: $0, key: "w", begin: 0, end: 16, dataSize: 12) },
        .json("header length of 100 GB", "{}", headerLength: 100_000_000_000) {
            .headerTooLarge(path: $0, headerLength: 100_000_000_000, limit: 100_000_000)
        },
        .json("header length at the limit but past the end", "{}", headerLength: 100_000_000) {
            .headerPastEnd(path: $0, headerLength: 100_000_000, fileSize: 10)
        },
        .init("header length zero (the prefix alone)", zeros8) {
            .invalidJSON(path: $0, byteOffset: 0, reason: "expected a value, found end of header")
        },
        .json("header of spaces only", "    ") {
            .invalidJSON(path: $0, byteOffset: 4, reason: "expected a value, found end of header")
        },
        .init("header padded with NUL bytes instead of spaces", SafetensorsFixture.bytes(header: Array("{}".utf8) + [0, 0])) {
            .invalidJSON(path: $0, byteOffset: 2, reason: "unexpected byte 0x0 after the top-level value")
        },
        // Encoding of names and strings.
        .init(
            "overlong UTF-8 encoding in a key",
            SafetensorsFixture.bytes(header: Array(#"{""#.utf8) + [0xC0, 0x80] + Array(#"":{}}"#.utf8))
        ) { .invalidUTF8(path: $0, byteOffset: 2) },
        .init(
            "UTF-8-encoded surrogate in a key",
            SafetensorsFixture.bytes(header: Array(#"{""#.utf8) + [0xED, 0xA0, 0x80] + Array(#"":{}}"#.utf8))
        ) { .invalidUTF8(path: $0, byteOffset: 2) },
        .init("multi-byte sequence cut at the end of the header", SafetensorsFixture.bytes(header: Array("{}".utf8) + [0xE2, 0x82])) {
            .invalidUTF8(path: $0, byteOffset: 2)
        },
        .init(
            "non-UTF-8 metadata value",
            SafetensorsFixture.bytes(header: Array(#"{"__metadata__":{"k":""#.utf8) + [0xFF] + Array(#""}}"#.utf8))
        ) { .invalidUTF8(path: $0, byteOffset: 22) },
        .json("lone surrogate escape in a key", #"{"\ud800":{}}"#) {
            .invalidJSON(path: $0, byteOffset: 8, reason: #"lone high surrogate in \u escape"#)
        },
        .json("unescaped newline in a key", "{\"a\nb\":{}}") {
            .invalidJSON(path: $0, byteOffset: 3, reason: "unescaped control character byte 0xA in string")
        },
        .json("duplicate field inside a tensor entry", #"{"a":{"dtype":"F32","dtype":"F16","shape":[0],"data_offsets":[0,0]}}"#) {
            .invalidJSON(path: $0, byteOffset: 20, reason: #"duplicate key "dtype""#)
        },
        // Fields.
        .json("missing shape", #"{"a":{"dtype":"F32","data_offsets":[0,0]}}"#) {
            .missingField(path: $0, key: "a", field: "shape")
        },
        .json("lower-case dtype", #"{"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]) {
            .unsupportedDType(path: $0, key: "a", dtype: "f32")
        },
        .json("fp8 dtype spelled as torch names it", #"{"a":{"dtype":"F8_E4M3FN","shape":[1],"data_offsets":[0,1]}}"#, data: [0]) {
            .unsupportedDType(path: $0, key: "a", dtype: "F8_E4M3FN")
        },
        .json("integer bytes not matching the shape", #"{"ids":{"dtype":"I64","shape":[1,77],"data_offsets":[0,8]}}"#, data: zeros8) {
            .byteCountMismatch(path: $0, key: "ids", dtype: "I64", shape: [1, 77], expectedBytes: 616, actualBytes: 8)
        },
        .json("packed 4-bit tensor ending inside a byte", #"{"q":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}"#, data: [0, 0]) {
            .bitCountNotByteAligned(path: $0, key: "q", dtype: "F4", shape: [3], bits: 12)
        },
        .json(
            "integer tensor overlapping a float tensor",
            #"{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"ids":{"dtype":"I32","shape":[1],"data_offsets":[2,6]}}"#,
            data: zeros8
        ) { .overlappingTensors(path: $0, key: "ids", begin: 2, previousKey: "w", previousEnd: 4) },
        .json("gap after a boolean tensor", #"{"m":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}}"#, data: [1, 0, 1, 0]) {
            .gapInData(path: $0, afterKey: "m", begin: 3, end: 4)
        },
        .json("shape entry with an exponent", #"{"a":{"dtype":"F32","shape":[1e2],"data_offsets":[0,400]}}"#) {
            .invalidField(path: $0, key: "a", field: "shape", expected: "an array of non-negative integers", found: "[1e2]")
        },
        .json("shape entry beyond Int", #"{"a":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,0]}}"#) {
            .invalidField(
                path: $0, key: "a", field: "shape", expected: "an array of non-negative integers", found: "[99999999999999999999]")
        },
        .json("null shape entry", #"{"a":{"dtype":"F32","shape":[null],"data_offsets":[0,0]}}"#) {
            .invalidField(path: $0, key: "a", field: "shape", expected: "an array of non-negative integers", found: "[null]")
        },
        .json(
            "zero-size shape whose other extents overflow Int (its row-major strides would overflow)",
            #"{"a":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}}"#
        ) {
            .invalidField(
                path: $0, key: "a", field: "shape", expected: "a shape whose non-zero extents multiply to a value that fits in Int",
                found: "[0, 4294967296, 4294967296]")
        },
        .json("negative data_offsets", #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#) {
            .invalidField(
                path: $0, key: "a", field: "data_offsets",
                expected: "an array of two non-negative integers [begin, end]", found: "[-4, 0]")
        },
        .json("non-integer data_offsets", #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4.0]}}"#, data: [0, 0, 0, 0]) {
            .invalidField(
                path: $0, key: "a", field: "data_offsets",
                expected: "an array of two non-negative integers [begin, end]", found: "[0, 4.0]")
        },
        .json("data_offsets beyond Int", #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,9223372036854775808]}}"#) {
            .invalidField(
                path: $0, key: "a", field: "data_offsets",
                expected: "an array of two non-negative integers [begin, end]", found: "[0, 9223372036854775808]")
        },
        .json("data_offsets ending at Int.max", #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,9223372036854775807]}}"#) {
            .offsetsOutOfRange(path: $0, key: "a", begin: 0, end: Int.max, dataSize: 0)
        },
        .json(
            "byte count that overflows for the dtype",
            #"{"a":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,8]}}"#, data: zeros8
        ) {
            .byteCountMismatch(
                path: $0, key: "a", dtype: "F64", shape: [2_305_843_009_213_693_952], expectedBytes: Int.max, actualBytes: 8)
        },
        .json(
            "two tensors claiming the same bytes",
            #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
            data: [0, 0, 0, 0]
        ) { .overlappingTensors(path: $0, key: "b", begin: 0, previousKey: "a", previousEnd: 4) },
        .json("nested metadata", #"{"__metadata__":{"a":{"b":"c"}}}"#) {
            .invalidMetadata(path: $0, key: "a", found: #"{"b": "c"}"#)
        },
        .json("non-string metadata value", #"{"__metadata__":{"format":"pt","epoch":3}}"#) {
            .invalidMetadata(path: $0, key: "epoch", found: "3")
        },
        .json("metadata that is not an object", #"{"__metadata__":"pt"}"#) {
            .invalidMetadata(path: $0, key: "__metadata__", found: #""pt""#)
        },
    ]
}

@Suite struct SafetensorsMalformedTests {
    @Test("opening a malformed file throws the specific error, naming the file", arguments: MalformedSafetensors.all)
    func malformed(_ file: MalformedSafetensors) throws {
        try SafetensorsFixture.withTemporaryDirectory { directory throws in
            let path = directory + "/broken.safetensors"
            try SafetensorsFixture.write(file.bytes, to: path)
            let error = #expect(throws: SafetensorsError.self) { try SafetensorsFile.open(path) }
            #expect(error == file.expected(path))
            if let error {
                #expect(error.path == path)
                #expect(error.description.hasPrefix(path + ": "))
                #expect(!error.description.contains("\n"))
            }
        }
    }

    @Test("error descriptions are single readable lines")
    func descriptions() {
        let path = "/models/unet.safetensors"
        #expect(
            SafetensorsError.byteCountMismatch(
                path: path, key: "w", dtype: "F32", shape: [2, 2], expectedBytes: 16, actualBytes: 12
            ).description == #"/models/unet.safetensors: tensor "w": data_offsets span 12 bytes, but F32 [2, 2] needs 16"#)
        #expect(
            SafetensorsError.unsupportedDType(path: path, key: "ids", dtype: "I128").description
                == #"/models/unet.safetensors: tensor "ids": dtype "I128" is not a safetensors dtype (known: BOOL, F4, "#
                + #"F6_E2M3, F6_E3M2, U8, I8, F8_E5M2, F8_E4M3, F8_E8M0, F8_E4M3FNUZ, F8_E5M2FNUZ, I16, U16, F16, BF16, "#
                + #"I32, U32, F32, C64, F64, I64, U64)"#)
        #expect(
            SafetensorsError.inexactConversion(path: path, key: "ids", dtype: "I64", index: 1, value: "16777217")
                .description
                == #"/models/unet.safetensors: tensor "ids": I64 element 1 (16777217) is not exactly representable as float32"#)
        #expect(
            SafetensorsError.unreadableDType(path: path, key: "q", dtype: "F4").description
                == #"/models/unet.safetensors: tensor "q": PruneKit cannot read F4 tensors (the file is valid; other tensors read)"#)
        #expect(
            SafetensorsError.gapInData(path: path, afterKey: "a", begin: 4, end: 8).description
                == #"/models/unet.safetensors: data bytes 4..<8 after tensor "a" belong to no tensor"#)
        #expect(
            SafetensorsError.tensorNotFound(path: path, key: "x\ny", available: 3, nearest: []).description
                == #"/models/unet.safetensors: no tensor "x\ny" among its 3 tensors"#)
    }
}
