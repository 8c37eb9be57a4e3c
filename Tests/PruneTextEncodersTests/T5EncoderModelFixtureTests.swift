import Foundation
import PruneNN
import PruneTensor
import PruneTestSupport
import PruneTextEncoders
import Testing

/// T5 encoders against transformers 5.23 on the fixture folders (float32, bfloat16 shards, relu).
@Suite struct T5EncoderModelFixtureTests {
    @Test("The last hidden state (and with a padding mask) matches transformers", arguments: TextEncoderFixture.t5)
    func matchesTransformers(fixture: TextEncoderFixture) throws {
        let model = try T5EncoderModel(directory: fixture.directory)
        let ids = try #require(try fixture.integerRows("input_ids"))
        let expected = try fixture.expected()
        var errors: [String: Float] = [:]
        errors["last_hidden_state"] = maximumRelativeError(try model(ids).lastHiddenState, try #require(expected["last_hidden_state"]))
        if let mask = try fixture.integerRows("attention_mask") {
            let masked = try model(ids, attentionMask: mask).lastHiddenState
            errors["last_hidden_state_masked"] = maximumRelativeError(masked, try #require(expected["last_hidden_state_masked"]))
        }
        #expect(Set(errors.keys) == Set(expected.keys))
        for (key, error) in errors.sorted(by: { $0.key < $1.key }) {
            #expect(error <= textEncoderTolerance, "\(fixture) \(key): relative error \(error)")
        }
        print("\(fixture): relative errors \(errors.sorted(by: { $0.key < $1.key }).map { "\($0.key) \($0.value)" })")
    }

    @Test("A bfloat16 sharded checkpoint stays bfloat16 while resident")
    func bfloat16WeightsStayResident() throws {
        let model = try T5EncoderModel(directory: TextEncoderFixture(name: "t5-bf16-sharded").directory)
        #expect(model.parameters.parameters.values.allSatisfy { $0.dtype == .bfloat16 })
        #expect(model.parameters.parameters["shared.weight"]?.shape == [1000, 32])
    }

    @Test("Relative-position buckets equal transformers' for distances up to 600 in three configurations")
    func bucketsMatchTransformers() throws {
        let file = try SafetensorsFile.open(Fixtures.path("text-encoders/relative_position_buckets.safetensors"))
        for (buckets, distance) in [(32, 128), (16, 64), (64, 256)] {
            let expected = try file.tensor("buckets_\(buckets)_\(distance)").scalars().map { Int($0) }
            let actual = (-600...600).map { T5RelativePosition.bucket($0, buckets: buckets, maximumDistance: distance) }
            #expect(actual == expected, "buckets \(buckets), max distance \(distance)")
        }
    }

    @Test("The tied embedding loads from encoder.embed_tokens.weight alone, and from both copies")
    func tiedEmbeddingKeys() throws {
        let fixture = TextEncoderFixture(name: "t5-relu")
        let file = try SafetensorsFile.open(fixture.directory + "/model.safetensors")
        var tensors: [String: Tensor] = [:]
        for key in file.keys { tensors[key] = try file.tensor(key) }
        let configuration = try T5Configuration.load(path: fixture.directory + "/config.json")
        let ids = try #require(try fixture.integerRows("input_ids"))
        let reference = try T5EncoderModel(configuration: configuration, source: DictionaryTensorSource(tensors))(ids)
            .lastHiddenState

        var renamed = tensors
        renamed["encoder.embed_tokens.weight"] = renamed.removeValue(forKey: "shared.weight")
        let fromEncoderKey = try T5EncoderModel(configuration: configuration, source: DictionaryTensorSource(renamed))(ids)
        #expect(fromEncoderKey.lastHiddenState.scalars() == reference.scalars())

        var both = tensors
        both["encoder.embed_tokens.weight"] = tensors["shared.weight"]
        both["decoder.final_layer_norm.weight"] = Tensor.ones([32])  // a full T5 checkpoint's decoder: ignored
        let fromBoth = try T5EncoderModel(configuration: configuration, source: DictionaryTensorSource(both))(ids)
        #expect(fromBoth.lastHiddenState.scalars() == reference.scalars())
    }
}
