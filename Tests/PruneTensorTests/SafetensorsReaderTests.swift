import Foundation
import PruneTensor
import Testing

@Suite struct SafetensorsReaderTests {
    typealias Fixture = SafetensorsFixture

    /// Values every dtype holds exactly (at most 8 significant bits).
    static let exactValues: [Float] = [0, 1, -2, 0.5, 3.75, -0.125, 96, 0.0078125]

    /// Tensors of every rank the tests care about, including rank 0 and zero-size.
    static func sampleTensors() -> [String: Tensor] {
        [
            "scalar": Tensor(scalar: 3.75),
            "empty": Tensor([], shape: [0]),
            "empty3d": Tensor([], shape: [2, 0, 3]),
            "matrix": Tensor(Array(exactValues.prefix(6)), shape: [2, 3]),
            "vector": Tensor(exactValues, shape: [8]),
            "conv.weight": Tensor(exactValues + exactValues.reversed(), shape: [2, 2, 2, 2]),
        ]
    }

    @Test("every dtype round-trips values and shapes, including rank 0 and zero-size tensors", arguments: DType.allCases)
    func roundTrip(dtype: DType) throws {
        try Fixture.withTemporaryDirectory { directory throws in
            let path = directory + "/model.safetensors"
            let tensors = Self.sampleTensors()
            try SafetensorsWriter.write(tensors, to: path, dtype: dtype)
            let file = try SafetensorsFile.open(path)
            #expect(file.keys == tensors.keys.sorted())
            #expect(file.metadata.isEmpty)
            for (key, original) in tensors {
                let info = try #require(file.info(key))
                #expect(info.dtype == SafetensorsDType(dtype) && info.dtype.computeDType == dtype)
                #expect(info.shape == original.shape)
                #expect(info.byteRange.count == original.count * dtype.byteSize)

                let widened = try file.tensor(key)
                #expect(widened.dtype == .float32)
                #expect(widened.shape == original.shape)
                #expect(widened.scalars() == original.scalars(), "\(key) as float32")

                let kept = try file.tensor(key, as: dtype)
                #expect(kept.dtype == dtype)
                #expect(kept.shape == original.shape)
                #expect(kept.scalars() == original.scalars(), "\(key) as \(dtype)")
                // Reading in the stored dtype never copies.
                #expect(file.sharesMemory(with: kept) == (original.count > 0), "\(key) zero-copy")
            }
        }
    }

    @Test("float32 tensors are zero-copy views that keep the mapping alive after the file value is gone")
    func zeroCopyFloat32() throws {
        try Fixture.withTemporaryDirectory { directory throws in
            let path = directory + "/weights.safetensors"
            let values: [Float] = (0..<1000).map { Float($0) * 0.25 - 7 }
            try SafetensorsWriter.write(["w": Tensor(values, shape: [10, 100])], to: path)

            var file: SafetensorsFile? = try SafetensorsFile.open(path)
            let weight = try file!.tensor("w")
            #expect(file!.sharesMemory(with: weight))
            #expect(weight.dtype == .float32)
            #expect(weight.isContiguous)
            // Reading the same key twice gives two views of the same bytes.
            #expect(try file!.tensor("w").storage.bytes == weight.storage.bytes)
            // A converted copy is not a view.
            #expect(!file!.sharesMemory(with: weight.converted(to: .float32)))

            file = nil
            // The storage retains the mapping: the elements stay readable.
            #expect(weight.scalars() == values)
            #expect(weight.sum().item() == values.reduce(0, +))
        }
    }

    @Test("half-precision tensors are widened to float32 copies by default")
    func halfPrecisionIsConvertedByDefault() throws {
        try Fixture.withTemporaryDirectory { directory throws in
            let path = directory + "/half.safetensors"
            try SafetensorsWriter.write(["h": Tensor([1, 2, 3], shape: [3])], to: path, dtype: .float16)
            let file = try SafetensorsFile.open(path)
            let widened = try file.tensor("h")
            #expect(widened.dtype == .float32)
            #expect(!file.sharesMemory(with: widened))
            #expect(widened.scalars() == [1, 2, 3])
            // Asking for another dtype converts to that dtype.
            let asBF16 = try file.tensor("h", as: .bfloat16)
            #expect(asBF16.dtype == .bfloat16)
            #expect(asBF16.scalars() == [1, 2, 3])
        }
    }

    @Test("bfloat16 and float16 bit patterns widen to the exact float32 values")
    func halfPrecisionBitPatterns() throws {
        let bf16: [UInt16] = [0x3F80, 0xC000, 0x7F80, 0xFF80, 0x3E20, 0x0001, 0x8000, 0x7FC0]
        let f16: [UInt16] = [0x3C00, 0xC000, 0x7C00, 0xFC00, 0x3555, 0x0001, 0x8000, 0x7E00]
        let json = """
            {"b":{"dtype":"BF16","shape":[8],"data_offsets":[0,16]},\
            "h":{"dtype":"F16","shape":[2,4],"data_offsets":[16,32]}}
            """
        try Fixture.withTemporaryDirectory { directory throws in
            let path = directory + "/bits.safetensors"
            try Fixture.write(
                Fixture.bytes(json: json, data: Fixture.littleEndian(bf16) + Fixture.littleEndian(f16)), to: path)
            let file = try SafetensorsFile.open(path)

            let b = try file.tensor("b").scalars()
            #expect(Array(b.prefix(7)).map(\.bitPattern) == [
                Float(1), -2, .infinity, -.infinity, 0.15625, Float(bitPattern: 0x0001_0000), -0.0,
            ].map(\.bitPattern))
            #expect(b[7].isNaN)

            let h = try file.tensor("h")
            #expect(h.shape == [2, 4])
            let hs = h.scalars()
            #expect(Array(hs.prefix(7)).map(\.bitPattern) == [
                Float(1), -2, .infinity, -.infinity, 0.333251953125, 0x1p-24, -0.0,
            ].map(\.bitPattern))
            #expect(hs[7].isNaN)
        }
    }

    @Test("float64 tensors keep full precision when read as float64 and round when widened to float32")
    func float64Precision() throws {
        try Fixture.withTemporaryDirectory { directory throws in
            let path = directory + "/f64.safetensors"
            let values = [1.0 / 3.0, .pi, -1e-300, 123_456_789.123_456_789]
            try SafetensorsWriter.write(
                ["d": Fixture.float64Tensor(values, shape: [2, 2])], to: path, dtype: .float64)
            let file = try SafetensorsFile.open(path)
            let exact = try file.tensor("d", as: .float64)
            #expect(file.sharesMemory(with: exact))
            #expect(Fixture.doubles(exact) == values)
            #expect(try file.tensor("d").scalars() == values.map { Float($0) })
        }
    }

    @Test("metadata, unusual tensor names and string escapes round-trip")
    func metadataRoundTrip() throws {
        let metadata = [
            "format": "pt",
            "quote\"and\\backslash": "line\nbreak\ttab\u{1}control",
            "unicode ключ ✓": "значение 🚀",
            "empty": "",
            "json": #"{"nested": [1, 2]}"#,
        ]
        let tensors = [
            "down_blocks.0.resnets.1.conv1.weight": Tensor([1, 2], shape: [2]),
            "naïve/∂ \"quoted\"": Tensor(scalar: -1),
            "": Tensor([5], shape: [1]),
        ]
        try Fixture.withTemporaryDirectory { directory throws in
            let path = directory + "/meta.safetensors"
            try SafetensorsWriter.write(tensors, metadata: metadata, to: path)
            let file = try SafetensorsFile.open(path)
            #expect(file.metadata == metadata)
            #expect(file.keys == tensors.keys.sorted())
            for (key, tensor) in tensors {
                #expect(try file.tensor(key).scalars() == tensor.scalars())
            }
        }
    }

    @Test("a file written by the Python safetensors library reads back with mixed dtypes")
    func readsPythonOutput() throws {
        // safetensors 0.8.0: save({"h": f16 [1, -2, 0.5], "d": f64 [[1/3]], "f": f32 [1, 2, 3]}) via numpy.
        let python = Fixture.hex(
            "a8000000000000007b2264223a7b226474797065223a22463634222c227368617065223a5b312c315d2c22646174615f6f"
                + "666673657473223a5b302c385d7d2c2266223a7b226474797065223a22463332222c227368617065223a5b335d2c2264"
                + "6174615f6f666673657473223a5b382c32305d7d2c2268223a7b226474797065223a22463136222c227368617065223a"
                + "5b335d2c22646174615f6f666673657473223a5b32302c32365d7d7d202020555555555555d53f0000803f0000004000"
                + "004040003c00c00038")
        try Fixture.withTemporaryDirectory { directory throws in
            let path = directory + "/python.safetensors"
            try Fixture.write(python, to: path)
            let file = try SafetensorsFile.open(path)
            #expect(file.keys == ["d", "f", "h"])
            let d = try #require(file.info("d"))
            #expect(d.key == "d" && d.dtype == .float64 && d.shape == [1, 1] && d.byteRange == 0..<8)
            #expect(file.info("h")?.dtype == .float16)
            #expect(file.dataOffset == 8 + 0xA8)
            #expect(Fixture.doubles(try file.tensor("d", as: .float64)) == [1.0 / 3.0])
            #expect(try file.tensor("d").scalars() == [Float(1.0 / 3.0)])
            #expect(try file.tensor("f").scalars() == [1, 2, 3])
            #expect(try file.tensor("h").scalars() == [1, -2, 0.5])
        }
    }

    @Test("misaligned tensor data is copied instead of viewed, with the same values")
    func misalignedDataIsCopied() throws {
        // A 9-byte header puts the data section at file offset 17, so the float32 is not 4-byte aligned.
        let json = #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let header = Array(json.utf8)
        #expect(header.count % 4 != 0)
        try Fixture.withTemporaryDirectory { directory throws in
            let path = directory + "/misaligned.safetensors"
            try Fixture.write(Fixture.bytes(header: header, data: Fixture.littleEndian([2.5, -4] as [Float])), to: path)
            let file = try SafetensorsFile.open(path)
            #expect(file.dataOffset % 4 != 0)
            let x = try file.tensor("x")
            #expect(!file.sharesMemory(with: x))
            #expect(x.scalars() == [2.5, -4])
        }
    }

    @Test("an empty header with an empty data section is a valid file with no tensors")
    func emptyFile() throws {
        try Fixture.withTemporaryDirectory { directory throws in
            let path = directory + "/empty.safetensors"
            try SafetensorsWriter.write([:], to: path)
            #expect(try Fixture.read(path) == Fixture.bytes(json: "{}      "))
            let file = try SafetensorsFile.open(path)
            #expect(file.keys.isEmpty)
            #expect(file.metadata.isEmpty)
        }
    }

    @Test("looking up a missing key names the key and the file and suggests near misses")
    func missingKey() throws {
        try Fixture.withTemporaryDirectory { directory throws in
            let path = directory + "/lookup.safetensors"
            try SafetensorsWriter.write(
                ["conv.weight": Tensor([1], shape: [1]), "conv.bias": Tensor([2], shape: [1])], to: path)
            let file = try SafetensorsFile.open(path)
            #expect(file.info("conv.wieght") == nil)
            #expect(!file.contains("conv.wieght"))
            let error = #expect(throws: SafetensorsError.self) { try file.tensor("conv.wieght") }
            #expect(error == .tensorNotFound(path: path, key: "conv.wieght", available: 2, nearest: ["conv.weight"]))
            let message = try #require(error).description
            #expect(message.contains(path) && message.contains("\"conv.wieght\"") && !message.contains("\n"))
        }
    }

    @Test("opening a missing path or a directory fails with the path in the error")
    func unopenablePaths() throws {
        try Fixture.withTemporaryDirectory { directory throws in
            let missing = directory + "/nope.safetensors"
            #expect(throws: SafetensorsError.io(path: missing, operation: "open", reason: String(cString: strerror(ENOENT)))) {
                try SafetensorsFile.open(missing)
            }
            #expect(throws: SafetensorsError.notARegularFile(path: directory)) {
                try SafetensorsFile.open(URL(fileURLWithPath: directory))
            }
        }
    }
}
