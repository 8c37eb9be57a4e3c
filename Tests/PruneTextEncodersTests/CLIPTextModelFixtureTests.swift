import Foundation
import PruneNN
import PruneTensor
import PruneTestSupport
import PruneTextEncoders
import Testing

/// CLIP text encoders against transformers 5.23 on the fixture folders (float32, float16 variant file).
@Suite struct CLIPTextModelFixtureTests {
    /// Runs the model class the fixture's `config.json` names.
    static func run(_ fixture: TextEncoderFixture) throws -> CLIPTextOutput {
        let ids = try #require(try fixture.integerRows("input_ids"))
        let config = try String(contentsOfFile: fixture.directory + "/config.json", encoding: .utf8)
        if config.contains("CLIPTextModelWithProjection") {
            return try CLIPTextModelWithProjection(directory: fixture.directory)(ids)
        }
        return try CLIPTextModel(directory: fixture.directory)(ids)
    }

    @Test("Every hidden state, the last hidden state, the pooled output and the text embeddings match transformers", arguments: TextEncoderFixture.clip)
    func matchesTransformers(fixture: TextEncoderFixture) throws {
        let output = try Self.run(fixture)
        let expected = try fixture.expected()
        var actual: [String: Tensor] = [
            "last_hidden_state": output.lastHiddenState, "pooler_output": output.poolerOutput,
        ]
        for (index, state) in output.hiddenStates.enumerated() { actual["hidden_states.\(index)"] = state }
        if let embeds = output.textEmbeds { actual["text_embeds"] = embeds }
        #expect(Set(actual.keys) == Set(expected.keys))
        var worst: Float = 0
        for (key, reference) in expected.sorted(by: { $0.key < $1.key }) {
            let tensor = try #require(actual[key], "no \(key)")
            try #require(tensor.shape == reference.shape, "\(key): \(tensor.shape) vs \(reference.shape)")
            let error = maximumRelativeError(tensor, reference)
            worst = max(worst, error)
            #expect(error <= textEncoderTolerance, "\(fixture) \(key): relative error \(error)")
        }
        print("\(fixture): worst relative error \(worst) over \(expected.count) outputs")
    }

    @Test("CLIPTextModel reads the published text_model.-prefixed keys and transformers 5's unprefixed ones alike")
    func readsBothKeyLayouts() throws {
        let fixture = TextEncoderFixture(name: "clip-quick-gelu")  // saved by transformers 5: no text_model. prefix
        let file = try SafetensorsFile.open(fixture.directory + "/model.safetensors")
        var prefixed: [String: Tensor] = [:]
        for key in file.keys { prefixed["text_model." + key] = try file.tensor(key) }
        prefixed["text_model.embeddings.position_ids"] = Tensor.zeros([1, 77])  // older files carry the buffer
        let configuration = try CLIPTextConfiguration.load(path: fixture.directory + "/config.json")
        let ids = try #require(try fixture.integerRows("input_ids"))
        let output = try CLIPTextModel(configuration: configuration, source: DictionaryTensorSource(prefixed))(ids)
        let reference = try CLIPTextModel(directory: fixture.directory)(ids)
        #expect(output.lastHiddenState.scalars() == reference.lastHiddenState.scalars())
        #expect(output.poolerOutput.scalars() == reference.poolerOutput.scalars())
    }

    @Test("A file whose position_ids buffer is int64, as older transformers files store it, loads and matches")
    func int64PositionIDsFile() throws {
        let fixture = TextEncoderFixture(name: "clip-quick-gelu")
        let file = try SafetensorsFile.open(fixture.directory + "/model.safetensors")
        let configuration = try CLIPTextConfiguration.load(path: fixture.directory + "/config.json")
        var entries = try file.keys.map { key in RawSafetensors.Entry.float32("text_model." + key, try file.tensor(key)) }
        let positions = configuration.maximumPositions
        entries.append(.int64("text_model.embeddings.position_ids", [1, positions], (0..<positions).map(Int64.init)))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-clip-i64-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.copyItem(atPath: fixture.directory + "/config.json", toPath: directory + "/config.json")
        try RawSafetensors.write(entries, metadata: ["format": "pt"], to: directory + "/model.safetensors")
        #expect(try SafetensorsFile.open(directory + "/model.safetensors").info("text_model.embeddings.position_ids")?.dtype == .int64)

        let ids = try #require(try fixture.integerRows("input_ids"))
        let output = try CLIPTextModel(directory: directory)(ids)
        let reference = try CLIPTextModel(directory: fixture.directory)(ids)
        #expect(output.lastHiddenState.scalars() == reference.lastHiddenState.scalars())
        #expect(output.poolerOutput.scalars() == reference.poolerOutput.scalars())
    }

    @Test("A float16 checkpoint stays float16 while resident and is found without naming the variant")
    func float16WeightsStayResidentInHalfPrecision() throws {
        let fixture = TextEncoderFixture(name: "clip-fp16")
        let implicit = try CLIPTextModelWithProjection(directory: fixture.directory)
        let explicit = try CLIPTextModelWithProjection(directory: fixture.directory, variant: "fp16")
        for model in [implicit, explicit] {
            #expect(model.parameters.parameters.values.allSatisfy { $0.dtype == .float16 })
            #expect(model.parameters.storedByteCount == model.parameters.parameterCount * 2)
        }
    }

    @Test("The pooled position follows transformers: argmax of the ids for eos_token_id 2, else the first EOS")
    func poolingPositions() throws {
        let legacy = CLIPTextConfiguration(
            vocabularySize: 10, hiddenSize: 4, intermediateSize: 4, layerCount: 0, headCount: 1, maximumPositions: 6,
            eosTokenID: 2)
        let current = CLIPTextConfiguration(
            vocabularySize: 10, hiddenSize: 4, intermediateSize: 4, layerCount: 0, headCount: 1, maximumPositions: 6,
            eosTokenID: 9)
        var tensors: [String: Tensor] = [:]
        for (key, shape) in CLIPTextModel.parameterShapes(legacy) {
            tensors[key] = Tensor.randomNormal(shape, seed: UInt64(key.utf8.count))
        }
        let source = DictionaryTensorSource(tensors)
        let rows = [[8, 1, 9, 9, 9, 0], [8, 9, 3, 9, 0, 0], [8, 1, 2, 3, 4, 5]]
        for (configuration, positions) in [(legacy, [2, 1, 0]), (current, [2, 1, 0])] {
            let output = try CLIPTextModel(configuration: configuration, source: source)(rows)
            let last = output.lastHiddenState.reshaped([18, 4])
            for (row, position) in positions.enumerated() {
                let expected = last.indexSelect(axis: 0, indices: [row * 6 + position])
                let pooled = output.poolerOutput.indexSelect(axis: 0, indices: [row])
                #expect(pooled.scalars() == expected.scalars(), "row \(row)")
            }
        }
        // A row with a higher id than EOS: the legacy rule takes the largest id, the current one the EOS.
        let output = try CLIPTextModel(configuration: legacy, source: source)([[8, 9, 2, 5, 9, 1]])
        #expect(output.poolerOutput.scalars() == output.lastHiddenState.reshaped([6, 4]).indexSelect(axis: 0, indices: [1]).scalars())
    }
}
