import Foundation
import PruneNN
import PruneTensor
import PruneTestSupport
import Testing

/// Checkpoints with integer entries load through ``SafetensorsTensorSource``, and an integer key no layer asks
/// for is still reported as unexpected: opening such a file is no longer an error, and a mismatch is not hidden.
@Suite struct NonFloatCheckpointTests {
    typealias Entry = RawSafetensors.Entry

    /// A float16 `proj.weight` [2, 2] and `proj.bias` [2], plus `extra`.
    static func withCheckpoint<R>(extra: [Entry], _ body: (SafetensorsTensorSource) throws -> R) throws -> R {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-nonfloat-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/diffusion_pytorch_model.safetensors"
        let half: [UInt16] = [0x3C00, 0x4000, 0x4200, 0x4400]  // 1, 2, 3, 4
        try RawSafetensors.write(
            [Entry("proj.weight", "F16", [2, 2], RawSafetensors.littleEndian(half))]
                + extra + [Entry("proj.bias", "F16", [2], RawSafetensors.littleEndian([0x3800, 0xB800] as [UInt16]))],
            to: path)
        return try body(try SafetensorsTensorSource(file: path))
    }

    /// Builds the two-parameter model from `source` and finishes the store.
    static func load(_ source: SafetensorsTensorSource) throws(CheckpointError) -> ParameterStore {
        let store = ParameterStore(source: source, sourceName: source.name)
        _ = store.root.scoped("proj").parameter("weight", shape: [2, 2], initialization: .zeros)
        _ = store.root.scoped("proj").parameter("bias", shape: [2], initialization: .zeros)
        try store.finish()
        return store
    }

    @Test("a checkpoint with an int64 entry opens; its keys, shapes and float weights read as usual")
    func integerEntryOpens() throws {
        try Self.withCheckpoint(extra: [.int64("embeddings.position_ids", [1, 4], [0, 1, 2, 3])]) { source throws in
            #expect(source.keys == ["embeddings.position_ids", "proj.bias", "proj.weight"])
            #expect(source.shape(of: "embeddings.position_ids") == [1, 4])
            #expect(try source.tensor("embeddings.position_ids").scalars() == [0, 1, 2, 3])
            // storedTensor keeps 16-bit floats in their type and decodes integers to float32.
            #expect(try source.storedTensor("proj.weight").dtype == .float16)
            let ids = try source.storedTensor("embeddings.position_ids")
            #expect(ids.dtype == .float32 && ids.scalars() == [0, 1, 2, 3])
        }
    }

    @Test("an integer key the model does not have is reported as unexpected, like any other")
    func unexpectedIntegerKeyIsReported() throws {
        try Self.withCheckpoint(extra: [.int64("time_embedding.position_ids", [1, 77], (0..<77).map(Int64.init))]) {
            source throws in
            #expect(throws: CheckpointError.mismatched(
                source: source.name, problems: [.unexpected(key: "time_embedding.position_ids", shape: [1, 77])])
            ) { try Self.load(source) }
        }
    }

    @Test("without extra entries the same model loads its float16 weights widened to float32")
    func matchingCheckpointLoads() throws {
        try Self.withCheckpoint(extra: []) { source throws in
            let store = try Self.load(source)
            #expect(store.parameters["proj.weight"]?.scalars() == [1, 2, 3, 4])
            #expect(store.parameters["proj.bias"]?.scalars() == [0.5, -0.5])
        }
    }

    @Test("a model that asks for an integer tensor's key gets it as float32, and an unreadable one is a named problem")
    func integerParameters() throws {
        let extra: [Entry] = [.int64("ids", [2], [5, 16_777_217]), Entry("mask", "BOOL", [2], [1, 0])]
        try Self.withCheckpoint(extra: extra) { source throws in
            let store = ParameterStore(source: source, sourceName: source.name)
            _ = store.root.parameter("mask", shape: [2], initialization: .zeros)
            _ = store.root.parameter("ids", shape: [2], initialization: .zeros)
            _ = store.root.scoped("proj").parameter("weight", shape: [2, 2], initialization: .zeros)
            _ = store.root.scoped("proj").parameter("bias", shape: [2], initialization: .zeros)
            #expect(store.parameters["mask"]?.scalars() == [1, 0])
            let error = #expect(throws: CheckpointError.self) { try store.finish() }
            guard case .mismatched(_, let problems) = error else { return }
            #expect(problems.count == 1 && problems.first?.category == "unreadable")
            #expect("\(problems)".contains("16777217"))
        }
    }
}
