import Foundation
import PruneTensor
import Testing

@Suite struct SafetensorsWriterTests {
    typealias Fixture = SafetensorsFixture

    /// Names in `directory`, sorted.
    static func listing(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    @Test("the output is byte-identical to the Python safetensors library's for float32 tensors")
    func matchesPythonBytes() throws {
        // safetensors 0.8.0: save({"b": [1.5, -2, 3], "a": arange(4).reshape(2, 2), "s": 7.25,
        // "z": zeros((0, 3))}, metadata={"format": "pt"}), all float32, via numpy.
        let python = Fixture.hex(
            "00010000000000007b225f5f6d657461646174615f5f223a7b22666f726d6174223a227074227d2c2261223a7b22647479"
                + "7065223a22463332222c227368617065223a5b322c325d2c22646174615f6f666673657473223a5b302c31365d7d2c22"
                + "62223a7b226474797065223a22463332222c227368617065223a5b335d2c22646174615f6f666673657473223a5b3136"
                + "2c32385d7d2c2273223a7b226474797065223a22463332222c227368617065223a5b5d2c22646174615f6f6666736574"
                + "73223a5b32382c33325d7d2c227a223a7b226474797065223a22463332222c227368617065223a5b302c335d2c226461"
                + "74615f6f666673657473223a5b33322c33325d7d7d2020000000000000803f00000040000040400000c03f000000c000"
                + "0040400000e840")
        try Fixture.withTemporaryDirectory { directory throws in
            let path = directory + "/ours.safetensors"
            try SafetensorsWriter.write(
                [
                    "b": Tensor([1.5, -2, 3], shape: [3]), "a": Tensor([0, 1, 2, 3], shape: [2, 2]),
                    "s": Tensor(scalar: 7.25), "z": Tensor([], shape: [0, 3]),
                ], metadata: ["format": "pt"], to: path)
            #expect(try Fixture.read(path) == python)
        }
    }

    @Test("the header is sorted, compact and space-padded to a multiple of 8 bytes")
    func headerLayout() throws {
        try Fixture.withTemporaryDirectory { directory throws in
            let path = directory + "/layout.safetensors"
            try SafetensorsWriter.write(
                ["z": Tensor([1], shape: [1]), "a": Tensor([2, 3], shape: [2])],
                metadata: ["k2": "v", "k1": "w"], to: path, dtype: .bfloat16)
            let bytes = try Fixture.read(path)
            let length = Int(bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
            #expect(length % 8 == 0)
            let header = String(decoding: bytes[8..<(8 + length)], as: UTF8.self)
            let json = #"{"__metadata__":{"k1":"w","k2":"v"},"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]},"#
                + #""z":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]}}"#
            #expect(header == json + String(repeating: " ", count: length - json.utf8.count))
            #expect(Array(bytes[(8 + length)...]) == Fixture.littleEndian([0x4000, 0x4040, 0x3F80] as [UInt16]))
        }
    }

    @Test("narrowing to bfloat16 and float16 rounds to nearest even and overflows float16 to infinity")
    func narrowingConversions() throws {
        let values: [Float] = [1.0 / 3.0, 65520, -0.0, 1 + 0x1p-8, 1 + 0x1p-8 + 0x1p-20]
        try Fixture.withTemporaryDirectory { directory throws in
            for (dtype, expected) in [
                (DType.bfloat16, [0x3EAB, 0x4780, 0x8000, 0x3F80, 0x3F81] as [UInt16]),
                (DType.float16, [0x3555, 0x7C00, 0x8000, 0x3C04, 0x3C04] as [UInt16]),
            ] {
                let path = directory + "/\(dtype).safetensors"
                try SafetensorsWriter.write(["x": Tensor(values, shape: [5])], to: path, dtype: dtype)
                let file = try SafetensorsFile.open(path)
                let start = file.dataOffset + file.info("x")!.byteRange.lowerBound
                #expect(Array(try Fixture.read(path)[start...]) == Fixture.littleEndian(expected), "\(dtype)")
            }
        }
    }

    @Test("strided views and views with an offset are written as contiguous row-major data")
    func writesViewsContiguously() throws {
        let base = Storage(uninitializedCount: 8)
        for i in 0..<8 { base.floats[i] = Float(i) }
        // The transpose of the 2×3 matrix [[1, 2, 3], [4, 5, 6]] stored from element 1.
        let transposed = Tensor(storage: base, layout: Layout(shape: [3, 2], strides: [1, 3], offset: 1))
        let tail = Tensor(storage: base, layout: Layout(contiguous: [2], offset: 6))
        try Fixture.withTemporaryDirectory { directory throws in
            let path = directory + "/views.safetensors"
            try SafetensorsWriter.write(["t": transposed, "tail": tail], to: path)
            let file = try SafetensorsFile.open(path)
            #expect(try file.tensor("t").scalars() == [1, 4, 2, 5, 3, 6])
            #expect(try file.tensor("tail").scalars() == [6, 7])
        }
    }

    @Test("writing into a directory that does not exist throws and leaves nothing behind")
    func missingDirectory() throws {
        try Fixture.withTemporaryDirectory { directory throws in
            let path = directory + "/missing/model.safetensors"
            let error = #expect(throws: SafetensorsError.self) {
                try SafetensorsWriter.write(["a": Tensor([1], shape: [1])], to: URL(fileURLWithPath: path))
            }
            let reason = String(cString: strerror(ENOENT))
            #expect(error == .io(path: path, operation: "create temporary file", reason: reason))
            #expect(try Self.listing(directory).isEmpty)
        }
    }

    @Test("a failure after the temporary file was written removes it")
    func failedRenameCleansUp() throws {
        try Fixture.withTemporaryDirectory { directory throws in
            // The destination is a non-empty directory, so the final rename fails.
            let path = directory + "/occupied"
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            try Fixture.write([1, 2, 3], to: path + "/keep")
            let error = #expect(throws: SafetensorsError.self) {
                try SafetensorsWriter.write(["a": Tensor([1, 2], shape: [2])], to: path)
            }
            #expect(error?.path == path)
            if case .io(_, let operation, _)? = error { #expect(operation == "rename") } else { Issue.record("\(String(describing: error))") }
            #expect(try Self.listing(directory) == ["occupied"])
            #expect(try Self.listing(path) == ["keep"])
        }
    }

    @Test("a reserved tensor name is rejected before anything is written")
    func reservedName() throws {
        try Fixture.withTemporaryDirectory { directory throws in
            let path = directory + "/model.safetensors"
            try SafetensorsWriter.write(["a": Tensor([1], shape: [1])], to: path)
            let before = try Fixture.read(path)
            #expect(throws: SafetensorsError.invalidTensorName(
                path: path, key: "__metadata__", reason: "the name is reserved for the metadata entry")) {
                try SafetensorsWriter.write(["__metadata__": Tensor([1], shape: [1])], to: path)
            }
            #expect(try Fixture.read(path) == before)
            #expect(try Self.listing(directory) == ["model.safetensors"])
        }
    }

    @Test("replacing a file keeps tensors borrowed from the old file valid")
    func replaceWhileMapped() throws {
        try Fixture.withTemporaryDirectory { directory throws in
            let path = directory + "/model.safetensors"
            try SafetensorsWriter.write(["w": Tensor([1, 2, 3], shape: [3])], to: path)
            let old = try SafetensorsFile.open(path)
            let borrowed = try old.tensor("w")
            #expect(old.sharesMemory(with: borrowed))

            // Write a scaled copy back over the same path, as a save-after-update would.
            try SafetensorsWriter.write(["w": borrowed * 10], metadata: ["step": "1"], to: path)
            #expect(borrowed.scalars() == [1, 2, 3])
            let new = try SafetensorsFile.open(path)
            #expect(try new.tensor("w").scalars() == [10, 20, 30])
            #expect(new.metadata == ["step": "1"])
            #expect(try Self.listing(directory) == ["model.safetensors"])
        }
    }
}
