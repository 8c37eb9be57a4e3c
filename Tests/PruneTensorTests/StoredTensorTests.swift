import Foundation
import PruneTensor
import Testing

/// Stored tensors pass through byte for byte: read, selected along an axis, written in their own dtypes.
@Suite struct StoredTensorTests {
    static func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-stored-\(UUID().uuidString).safetensors").path
    }

    @Test("Selecting along an axis moves whole elements: rows, columns, repeats, nothing", arguments: [SafetensorsDType.float16, .bfloat16, .float32, .float64])
    func selection(dtype: SafetensorsDType) {
        let size = dtype.bitSize / 8
        // Element (i, j) of a [3, 4] tensor holds bytes all equal to 10·i + j.
        let bytes = (0..<3).flatMap { i in (0..<4).flatMap { j in [UInt8](repeating: UInt8(10 * i + j), count: size) } }
        let tensor = StoredTensor(dtype: dtype, shape: [3, 4], bytes: bytes)
        func elements(_ t: StoredTensor) -> [UInt8] { stride(from: 0, to: t.bytes.count, by: size).map { t.bytes[$0] } }
        #expect(elements(tensor.selecting([2, 0], axis: 0)) == [20, 21, 22, 23, 0, 1, 2, 3])
        #expect(tensor.selecting([2, 0], axis: 0).shape == [2, 4])
        #expect(elements(tensor.selecting([3, 1, 1], axis: 1)) == [3, 1, 1, 13, 11, 11, 23, 21, 21])
        #expect(tensor.selecting([], axis: 1).shape == [3, 0] && tensor.selecting([], axis: 1).bytes.isEmpty)
        #expect(tensor.selecting([0, 1, 2], axis: 0) == tensor)
        #expect(tensor.dtype == dtype && tensor.isSliceable)
    }

    @Test("write(stored:) keeps every tensor's dtype and bits and the metadata; storedTensor reads them back")
    func roundTrip() throws {
        let path = Self.temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let half = Tensor([1.5, -2, 65504, 1e-7], shape: [2, 2]).converted(to: .float16)
        var tensors: [String: StoredTensor] = [
            "a.bf16": StoredTensor(dtype: .bfloat16, shape: [3], bytes: [0x80, 0x3F, 0x00, 0xC0, 0x49, 0x40]),
            "b.f32": StoredTensor(dtype: .float32, shape: [], bytes: [0, 0, 0x80, 0x3F]),
            "c.empty": StoredTensor(dtype: .float16, shape: [0, 4], bytes: []),
            "d.i64": StoredTensor(dtype: .int64, shape: [1], bytes: [7, 0, 0, 0, 0, 0, 0, 0]),
        ]
        try SafetensorsWriter.write(["e.f16": half], to: path, dtype: .float16)
        tensors["e.f16"] = try SafetensorsFile.open(path).storedTensor("e.f16")
        try SafetensorsWriter.write(stored: tensors, metadata: ["format": "pt", "ss_network_dim": "4"], to: path)
        let file = try SafetensorsFile.open(path)
        #expect(file.metadata == ["format": "pt", "ss_network_dim": "4"])
        for (key, tensor) in tensors { #expect(try file.storedTensor(key) == tensor, "\(key)") }
        #expect(try file.tensor("e.f16").scalars() == half.converted(to: .float32).scalars())
        #expect(try file.tensor("a.bf16").scalars() == [1, -2, 3.140625])
        #expect(throws: SafetensorsError.self) { try file.storedTensor("missing") }
        #expect(throws: SafetensorsError.self) { try SafetensorsWriter.write(stored: ["__metadata__": tensors["b.f32"]!], to: path) }
    }
}
