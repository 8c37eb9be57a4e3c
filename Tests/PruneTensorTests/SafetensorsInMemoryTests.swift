import Foundation
import PruneTensor
import Testing

/// `SafetensorsFile.parse`, the in-memory entry point the fuzzer drives, validates exactly as `open` does.
@Suite struct SafetensorsInMemoryTests {
    typealias Fixture = SafetensorsFixture

    /// The committed fuzzer seeds (`Fuzz/corpus/safetensors`, made by `Fuzz/make_safetensors_seeds.py`).
    static let seedDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/corpus/safetensors")

    static func parse(_ bytes: [UInt8], path: String) throws(SafetensorsError) -> SafetensorsFile {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(SafetensorsError) in try SafetensorsFile.parse(buffer, path: path) }
        }
        return try result.get()
    }

    @Test("parsing malformed bytes throws the same error as opening them from a file", arguments: MalformedSafetensors.all)
    func malformedInMemory(_ file: MalformedSafetensors) {
        let name = "in-memory.safetensors"
        let error = #expect(throws: SafetensorsError.self) { try Self.parse(file.bytes, path: name) }
        #expect(error == file.expected(name))
    }

    @Test("every dtype read from memory equals the same file read from disk", arguments: DType.allCases)
    func sameTensorsAsOpen(dtype: DType) throws {
        try Fixture.withTemporaryDirectory { directory throws in
            let path = directory + "/model.safetensors"
            try SafetensorsWriter.write(
                SafetensorsReaderTests.sampleTensors(), metadata: ["format": "pt"], to: path, dtype: dtype)
            let onDisk = try SafetensorsFile.open(path)
            let inMemory = try Self.parse(try Fixture.read(path), path: "copy")
            #expect(inMemory.path == "copy")
            #expect(inMemory.keys == onDisk.keys)
            #expect(inMemory.metadata == ["format": "pt"])
            #expect(inMemory.dataOffset == onDisk.dataOffset)
            for key in onDisk.keys {
                #expect(inMemory.info(key) == onDisk.info(key))
                #expect(try inMemory.tensor(key).scalars() == onDisk.tensor(key).scalars(), "\(key) as float32")
                let stored = try inMemory.tensor(key, as: dtype)
                #expect(stored.dtype == dtype)
                #expect(stored.scalars() == (try onDisk.tensor(key, as: dtype).scalars()), "\(key) as \(dtype)")
            }
        }
    }

    @Test("tensors outlive the parsed file and the caller's buffer")
    func tensorsOutliveTheBuffer() throws {
        // Padded to a 56-byte header, so the data section starts 4-byte aligned and "w" is borrowed, not copied.
        var bytes = Fixture.bytes(
            json: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}  "#, data: Fixture.littleEndian([1.5, -2] as [Float]))
        var file: SafetensorsFile? = try Self.parse(bytes, path: "buffer")
        let tensor = try file!.tensor("w")
        #expect(file!.sharesMemory(with: tensor))
        file = nil
        bytes = [UInt8](repeating: 0xFF, count: bytes.count)
        #expect(tensor.scalars() == [1.5, -2])
    }

    @Test("tensors listed out of data order, at unaligned offsets, are accepted")
    func outOfOrderAndUnaligned() throws {
        // A 109-byte header (108 + one space) puts the data section at byte 117: not aligned for F32 or F64.
        let json = #"{"b":{"dtype":"F64","shape":[1],"data_offsets":[4,12]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}} "#
        var data = Fixture.littleEndian([7.25] as [Float])
        data += withUnsafeBytes(of: (-0.5 as Double).bitPattern.littleEndian, Array.init)
        let file = try Self.parse(Fixture.bytes(json: json, data: data), path: "unaligned")
        #expect(file.dataOffset % 4 != 0)
        #expect(file.keys == ["a", "b"])
        #expect(try file.tensor("a").scalars() == [7.25])
        #expect(try file.tensor("b").scalars() == [-0.5])
        #expect(Fixture.doubles(try file.tensor("b", as: .float64)) == [-0.5])
    }

    @Test("every committed fuzzer seed parses or is rejected with an error naming it, and accepted ones read fully")
    func fuzzSeeds() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.seedDirectory.path).sorted()
        #expect(names.count >= 15, "the seed corpus is missing: run python3 Fuzz/make_safetensors_seeds.py")
        var accepted = 0
        for name in names {
            let bytes = try Fixture.read(Self.seedDirectory.appendingPathComponent(name).path)
            do {
                let file = try Self.parse(bytes, path: name)
                for key in file.keys { #expect(try file.tensor(key).count == file.info(key)!.count) }
                accepted += 1
            } catch {
                #expect(error.path == name)
            }
        }
        // Every dtype, scalars, zero-size tensors, metadata, unaligned data and escaped keys are valid seeds.
        #expect(accepted >= 12)
    }
}
