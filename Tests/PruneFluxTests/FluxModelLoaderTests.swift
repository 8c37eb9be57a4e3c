import Foundation
import PruneFlux
import PruneKit
import PruneNN
import PruneTensor
import PruneTestSupport
import Testing

/// Loading diffusers model directories: single file, sharded index, pipeline root, and the errors.
@Suite struct FluxModelLoaderTests {
    /// A fresh temporary directory, removed by the caller.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-flux-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Copies the fixture's `config.json` into `directory` and its weights as two shards plus an index.
    static func writeSharded(_ fixture: FluxFixture, into directory: URL, dropping dropped: Set<String> = [], adding extra: [String: Tensor] = [:]) throws {
        let source = URL(fileURLWithPath: fixture.directory)
        try FileManager.default.copyItem(at: source.appendingPathComponent("config.json"), to: directory.appendingPathComponent("config.json"))
        var tensors = try FluxBlackForestLabsTests.diffusersTensors(fixture).filter { !dropped.contains($0.key) }
        tensors.merge(extra) { $1 }
        let keys = tensors.keys.sorted()
        let shards = [Array(keys[..<(keys.count / 2)]), Array(keys[(keys.count / 2)...])]
        var weightMap: [String: String] = [:]
        for (index, shard) in shards.enumerated() {
            let name = "diffusion_pytorch_model-0000\(index + 1)-of-00002.safetensors"
            try SafetensorsWriter.write(Dictionary(uniqueKeysWithValues: shard.map { ($0, tensors[$0]!) }), to: directory.appendingPathComponent(name).path)
            for key in shard { weightMap[key] = name }
        }
        let index: [String: Any] = ["metadata": ["total_size": 0], "weight_map": weightMap]
        try JSONSerialization.data(withJSONObject: index).write(to: directory.appendingPathComponent("diffusion_pytorch_model.safetensors.index.json"))
    }

    @Test("A sharded directory (index.json + two shards) loads the same model as the single file", arguments: FluxFixture.all)
    func loadsShardedDirectory(fixture: FluxFixture) throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.writeSharded(fixture, into: directory)
        let loaded = try FluxModelLoader.load(directory: directory.path)
        let output = withoutGradients { try! fixture.inputs().run(loaded.model) }
        #expect(maximumRelativeError(output, try fixture.expected("output")) <= 1e-4)
    }

    @Test("A pipeline root with a transformer/ subfolder loads the transformer")
    func loadsPipelineRoot() throws {
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let transformer = root.appendingPathComponent("transformer")
        try FileManager.default.createDirectory(at: transformer, withIntermediateDirectories: true)
        try Self.writeSharded(FluxFixture.all[0], into: transformer)
        let loaded = try FluxModelLoader.load(directory: root.path)
        #expect(loaded.parameters.parameterCount == 68_484)
    }

    @Test("Missing, mis-shaped and unexpected tensors are reported together")
    func reportsEveryProblem() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.writeSharded(
            FluxFixture.all[0], into: directory, dropping: ["proj_out.bias"],
            adding: ["x_embedder.bias": Tensor.zeros([31]), "time_text_embed.guidance_embedder.linear_1.weight": Tensor.zeros([32, 256])])
        let error = try #require(throws: CheckpointError.self) { try FluxModelLoader.load(directory: directory.path) }
        guard case .mismatched(_, let problems) = error else {
            Issue.record("expected a mismatch, got \(error)")
            return
        }
        #expect(problems.map(\.description).sorted() == [
            CheckpointProblem.missing(key: "proj_out.bias", expected: [4]),
            .shapeMismatch(key: "x_embedder.bias", expected: [32], actual: [31]),
            .unexpected(key: "time_text_embed.guidance_embedder.linear_1.weight", shape: [32, 256]),
        ].map(\.description).sorted())
    }

    @Test("A directory without weights throws a typed error naming it")
    func noWeights() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.copyItem(
            at: URL(fileURLWithPath: FluxFixture.all[0].directory).appendingPathComponent("config.json"),
            to: directory.appendingPathComponent("config.json"))
        #expect(throws: CheckpointFileError.noWeights(directory: directory.path)) {
            try FluxModelLoader.load(directory: directory.path)
        }
    }

    @Test("Explicit widths naming a block the configuration lacks, or a negative width, are rejected before building")
    func rejectsWidthsOfMissingBlocks() throws {
        let fixture = FluxFixture.all[0]
        #expect(throws: UnitWidthsError.unknownModule("single_transformer_blocks.1.attn")) {
            try FluxModelLoader.load(directory: fixture.directory, widths: .explicit(UnitWidths(["single_transformer_blocks.1.attn": 1])))
        }
        #expect(throws: UnitWidthsError.negative(module: "transformer_blocks.0.ff", units: -1)) {
            try FluxModelLoader.load(directory: fixture.directory, widths: .explicit(UnitWidths(["transformer_blocks.0.ff": -1])))
        }
    }
}
