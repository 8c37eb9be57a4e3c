import Foundation
import PruneTensor
import PruneTestSupport
import Testing

/// Files holding non-float entries (integer `position_ids`, boolean masks, fp8 weights, packed and complex
/// dtypes) open; their entries are validated like floats and read as float32 exactly, or not at all.
@Suite struct SafetensorsStorageDTypeTests {
    typealias Entry = RawSafetensors.Entry

    /// Writes `entries` to a scratch file, opens it and hands it to `body`.
    static func withFile<R>(_ entries: [Entry], _ body: (SafetensorsFile) throws -> R) throws -> R {
        try SafetensorsFixture.withTemporaryDirectory { directory throws in
            let path = directory + "/model.safetensors"
            try RawSafetensors.write(entries, metadata: ["format": "pt"], to: path)
            return try body(try SafetensorsFile.open(path))
        }
    }

    @Test("a text encoder file with int64 position_ids next to float16 weights opens and reads every tensor")
    func int64PositionIDs() throws {
        let weights: [UInt16] = [0x3C00, 0xC100, 0x3800, 0x0001]  // 1, -2.5, 0.5, 2⁻²⁴
        let entries: [Entry] = [
            Entry("text_model.embeddings.token_embedding.weight", "F16", [2, 2], RawSafetensors.littleEndian(weights)),
            .int64("text_model.embeddings.position_ids", [1, 77], (0..<77).map(Int64.init)),
            Entry("text_model.final_layer_norm.bias", "F16", [1], RawSafetensors.littleEndian([0x4000] as [UInt16])),
        ]
        try Self.withFile(entries) { file throws in
            #expect(file.keys == [
                "text_model.embeddings.position_ids", "text_model.embeddings.token_embedding.weight",
                "text_model.final_layer_norm.bias",
            ])
            #expect(file.metadata == ["format": "pt"])
            let ids = try #require(file.info("text_model.embeddings.position_ids"))
            #expect(ids.dtype == .int64 && ids.dtype.computeDType == nil && ids.shape == [1, 77])
            #expect(ids.byteRange.count == 77 * 8)

            let positions = try file.tensor("text_model.embeddings.position_ids")
            #expect(positions.dtype == .float32 && positions.shape == [1, 77])
            #expect(positions.scalars() == (0..<77).map(Float.init))

            // The float tensors read exactly as before: widened to float32, or zero-copy in their stored type.
            let key = "text_model.embeddings.token_embedding.weight"
            #expect(file.info(key)?.dtype == .float16)
            #expect(try file.tensor(key).scalars() == [1, -2.5, 0.5, 0x1p-24])
            let kept = try file.tensor(key, as: .float16)
            #expect(kept.dtype == .float16 && file.sharesMemory(with: kept))
            #expect(try file.tensor("text_model.final_layer_norm.bias").scalars() == [2])
        }
    }

    @Test("every safetensors dtype's byte size is checked against its shape", arguments: SafetensorsDType.allCases)
    func byteSizes(dtype: SafetensorsDType) throws {
        let bytes = 4 * dtype.bitSize / 8  // four elements: whole bytes for every dtype, 2 for F4, 3 for F6
        let expectedBitSizes: [String: Int] = [
            "BOOL": 8, "U8": 8, "I8": 8, "F8_E4M3": 8, "F8_E5M2": 8, "F8_E8M0": 8, "F8_E4M3FNUZ": 8,
            "F8_E5M2FNUZ": 8, "I16": 16, "U16": 16, "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32,
            "I64": 64, "U64": 64, "F64": 64, "C64": 64, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
        ]
        #expect(dtype.bitSize == expectedBitSizes[dtype.name])
        #expect(SafetensorsDType(name: dtype.name) == dtype)

        let accepted = try Self.withFile([Entry("t", dtype.name, [4], [UInt8](repeating: 0, count: bytes))]) { $0.info("t") }
        #expect(accepted?.dtype == dtype && accepted?.byteRange == 0..<bytes)

        for wrong in [bytes - 1, bytes + 1] {
            let json = #"{"t":{"dtype":"\#(dtype.name)","shape":[4],"data_offsets":[0,\#(wrong)]}}"#
            let error = #expect(throws: SafetensorsError.self) {
                try SafetensorsInMemoryTests.parse(
                    SafetensorsFixture.bytes(json: json, data: [UInt8](repeating: 0, count: wrong)), path: "m")
            }
            #expect(error == .byteCountMismatch(
                path: "m", key: "t", dtype: dtype.name, shape: [4], expectedBytes: bytes, actualBytes: wrong))
        }
    }

    @Test("a boolean tensor reads as 0 and 1")
    func booleans() throws {
        try Self.withFile([Entry("mask", "BOOL", [2, 3], [0, 1, 1, 0, 2, 255])]) { file throws in
            #expect(file.info("mask")?.dtype == .bool)
            let mask = try file.tensor("mask")
            #expect(mask.shape == [2, 3] && mask.scalars() == [0, 1, 1, 0, 1, 1])
        }
    }

    @Test("integers of every width read as float32 exactly, extremes included")
    func integers() throws {
        let entries: [Entry] = [
            Entry("u8", "U8", [3], [0, 1, 255]),
            Entry("i8", "I8", [2], [0x80, 0x7F]),
            Entry("u16", "U16", [1], RawSafetensors.littleEndian([UInt16.max])),
            Entry("i16", "I16", [2], RawSafetensors.littleEndian([Int16.min, -3])),
            Entry("u32", "U32", [2], RawSafetensors.littleEndian([UInt32(1) << 24, UInt32.max - 255])),
            Entry("i32", "I32", [2], RawSafetensors.littleEndian([Int32.min, -16_777_216])),
            Entry("u64", "U64", [1], RawSafetensors.littleEndian([UInt64.max - (1 << 40) + 1])),
            .int64("i64", [3], [Int64.min, -1, 1 << 53]),
        ]
        try Self.withFile(entries) { file throws in
            #expect(try file.tensor("u8").scalars() == [0, 1, 255])
            #expect(try file.tensor("i8").scalars() == [-128, 127])
            #expect(try file.tensor("u16").scalars() == [65535])
            #expect(try file.tensor("i16").scalars() == [-32768, -3])
            #expect(try file.tensor("u32").scalars() == [0x1p24, 4_294_967_040])
            #expect(try file.tensor("i32").scalars() == [-0x1p31, -0x1p24])
            #expect(try file.tensor("u64").scalars() == [0x1p64 - 0x1p40])
            #expect(try file.tensor("i64").scalars() == [-0x1p63, -1, 0x1p53])
            // Another compute dtype is reached through float32.
            let half = try file.tensor("u8", as: .float16)
            #expect(half.dtype == .float16 && half.scalars() == [0, 1, 255])
        }
    }

    @Test("an integer float32 cannot hold exactly is refused, naming the key, dtype, index and value")
    func inexactIntegers() throws {
        let entries: [Entry] = [
            .int64("ids", [3], [16_777_216, 16_777_217, 0]),
            Entry("count", "U32", [1], RawSafetensors.littleEndian([UInt32.max])),
            Entry("w", "F32", [1], RawSafetensors.littleEndian([0.25] as [Float])),
        ]
        try SafetensorsFixture.withTemporaryDirectory { directory throws in
            let path = directory + "/ids.safetensors"
            try RawSafetensors.write(entries, to: path)
            let file = try SafetensorsFile.open(path)
            #expect(throws: SafetensorsError.inexactConversion(
                path: path, key: "ids", dtype: "I64", index: 1, value: "16777217")) { try file.tensor("ids") }
            #expect(throws: SafetensorsError.inexactConversion(
                path: path, key: "count", dtype: "U32", index: 0, value: "4294967295")) { try file.tensor("count") }
            #expect(try file.tensor("w").scalars() == [0.25])
        }
    }

    @Test("fp8 tensors of every format read as float32 exactly")
    func float8Tensors() throws {
        let entries: [Entry] = [
            Entry("e4m3", "F8_E4M3", [4], [0x38, 0x7E, 0xC4, 0x01]),
            Entry("e5m2", "F8_E5M2", [4], [0x3C, 0x7B, 0xFC, 0x01]),
            Entry("e4m3fnuz", "F8_E4M3FNUZ", [2], [0x40, 0x7F]),
            Entry("e5m2fnuz", "F8_E5M2FNUZ", [2], [0x40, 0xFF]),
            Entry("e8m0", "F8_E8M0", [3], [0, 127, 254]),
        ]
        try Self.withFile(entries) { file throws in
            #expect(try file.tensor("e4m3").scalars() == [1, 448, -3, 0x1p-9])
            #expect(try file.tensor("e5m2").scalars() == [1, 57344, -.infinity, 0x1p-16])
            #expect(try file.tensor("e4m3fnuz").scalars() == [1, 240])
            #expect(try file.tensor("e5m2fnuz").scalars() == [1, -57344])
            #expect(try file.tensor("e8m0").scalars() == [0x1p-127, 1, 0x1p127])
        }
    }

    @Test("packed 4- and 6-bit and complex tensors open and list, but reading one throws naming it")
    func unreadableDTypes() throws {
        let entries: [Entry] = [
            Entry("f4", "F4", [4], [0x12, 0x34]),
            Entry("f6", "F6_E3M2", [4], [1, 2, 3]),
            Entry("c", "C64", [1], RawSafetensors.littleEndian([1, -1] as [Float])),
            Entry("w", "BF16", [1], RawSafetensors.littleEndian([0x3F80] as [UInt16])),
        ]
        try SafetensorsFixture.withTemporaryDirectory { directory throws in
            let path = directory + "/mx.safetensors"
            try RawSafetensors.write(entries, to: path)
            let file = try SafetensorsFile.open(path)
            #expect(file.keys == ["c", "f4", "f6", "w"])
            #expect(file.info("f4")?.shape == [4] && file.info("f4")?.dtype.isReadable == false)
            for (key, dtype) in [("f4", "F4"), ("f6", "F6_E3M2"), ("c", "C64")] {
                #expect(throws: SafetensorsError.unreadableDType(path: path, key: key, dtype: dtype)) {
                    try file.tensor(key)
                }
            }
            #expect(try file.tensor("w").scalars() == [1])
        }
    }

    @Test("zero-size integer tensors read as empty float32 tensors")
    func zeroSizeIntegers() throws {
        try Self.withFile([.int64("none", [0, 77], []), Entry("b", "BOOL", [0], [])]) { file throws in
            let none = try file.tensor("none")
            #expect(none.shape == [0, 77] && none.count == 0 && none.dtype == .float32)
            #expect(try file.tensor("b").count == 0)
        }
    }

    @Test("non-float tensors parsed from memory equal the same file opened from disk")
    func inMemoryMatchesDisk() throws {
        let entries: [Entry] = [
            .int64("ids", [1, 3], [0, 1, 2]), Entry("m", "BOOL", [2], [1, 0]),
            Entry("q", "F8_E4M3", [3], [0x38, 0x7F, 0x80]), Entry("h", "F16", [1], RawSafetensors.littleEndian([0x3C00] as [UInt16])),
        ]
        let bytes = RawSafetensors.bytes(entries)
        let inMemory = try SafetensorsInMemoryTests.parse(bytes, path: "memory")
        try Self.withFile(entries) { onDisk throws in
            #expect(inMemory.keys == onDisk.keys)
            for key in onDisk.keys {
                #expect(inMemory.info(key) == onDisk.info(key))
                let a = try inMemory.tensor(key).scalars(), b = try onDisk.tensor(key).scalars()
                #expect(a.map(\.bitPattern) == b.map(\.bitPattern), "\(key)")
            }
        }
        #expect(try inMemory.tensor("q").scalars()[1].isNaN)
    }
}
