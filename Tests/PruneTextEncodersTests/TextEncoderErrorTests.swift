import Foundation
import PruneNN
import PruneTensor
import PruneTestSupport
import PruneTextEncoders
import Testing

/// Configuration, weight and input problems are typed errors that name the key, the shapes or the token.
@Suite struct TextEncoderErrorTests {
    /// The fixture's weights as an in-memory dictionary.
    static func tensors(_ fixture: TextEncoderFixture, file: String = "model.safetensors") throws -> [String: Tensor] {
        let safetensors = try SafetensorsFile.open(fixture.directory + "/" + file)
        var tensors: [String: Tensor] = [:]
        for key in safetensors.keys { tensors[key] = try safetensors.tensor(key) }
        return tensors
    }

    @Test("A mis-shaped, a missing and an unexpected key are reported together, naming each key and both shapes")
    func weightMismatchNamesKeyAndShapes() throws {
        let fixture = TextEncoderFixture(name: "clip-gelu-projection")
        let configuration = try CLIPTextConfiguration.load(path: fixture.directory + "/config.json")
        var tensors = try Self.tensors(fixture)
        tensors["text_model.encoder.layers.1.mlp.fc1.weight"] = Tensor.zeros([40, 32])
        tensors["text_model.final_layer_norm.bias"] = nil
        tensors["text_model.extra.weight"] = Tensor.zeros([2])
        tensors["text_model.embeddings.position_ids"] = Tensor.zeros([1, 77])  // transformers ignores it; so do we
        #expect {
            _ = try CLIPTextModelWithProjection(configuration: configuration, source: DictionaryTensorSource(tensors), sourceName: "fixture")
        } throws: { error in
            guard case TextEncoderError.weights(.mismatched(let source, let problems)) = error else { return false }
            let expected: [CheckpointProblem] = [
                .shapeMismatch(key: "text_model.encoder.layers.1.mlp.fc1.weight", expected: [37, 32], actual: [40, 32]),
                .missing(key: "text_model.final_layer_norm.bias", expected: [32]),
                .unexpected(key: "text_model.extra.weight", shape: [2]),
            ]
            let description = "\(error)"
            return source == "fixture" && problems.count == expected.count && expected.allSatisfy(problems.contains)
                && description.contains("text_model.encoder.layers.1.mlp.fc1.weight: expected shape [37, 32], found [40, 32]")
        }
    }

    @Test("A configuration that disagrees with the weights names the key and both shapes")
    func configurationDisagreesWithWeights() throws {
        let fixture = TextEncoderFixture(name: "t5-gated-gelu")
        var configuration = try T5Configuration.load(path: fixture.directory + "/config.json")
        configuration.feedForwardDimension = 64
        let source = try SafetensorsTensorSource(file: fixture.directory + "/model.safetensors")
        do {
            _ = try T5EncoderModel(configuration: configuration, source: source, sourceName: "t5")
            Issue.record("expected a mismatch")
        } catch let error {
            guard case .weights(.mismatched(_, let problems)) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(problems.contains(.shapeMismatch(key: "encoder.block.2.layer.1.DenseReluDense.wi_0.weight", expected: [64, 32], actual: [37, 32])))
            #expect(problems.count == 9)  // wi_0, wi_1, wo in each of 3 blocks
        }
    }

    @Test("A config.json without hidden_size names the key and the file")
    func missingConfigurationKey() throws {
        let fixture = TextEncoderFixture(name: "clip-quick-gelu")
        var object = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixture.directory + "/config.json"))) as? [String: Any])
        object["hidden_size"] = nil
        let data = try JSONSerialization.data(withJSONObject: object)
        #expect(throws: TextEncoderConfigurationError.missingKey(key: "hidden_size", path: "clip/config.json")) {
            _ = try CLIPTextConfiguration.decode(data, path: "clip/config.json")
        }
        // Through a model folder: the configuration error names the key too.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-encoders-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try data.write(to: directory.appendingPathComponent("config.json"))
        do {
            _ = try CLIPTextModel(directory: directory.path)
            Issue.record("expected a configuration error")
        } catch let error {
            #expect(error == .configuration(.missingKey(key: "hidden_size", path: directory.path + "/config.json")))
            #expect("\(error)".contains("hidden_size"))
        }
        var t5 = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("text-encoders/t5-relu/config.json")))) as? [String: Any])
        t5["d_kv"] = nil
        #expect(throws: TextEncoderConfigurationError.missingKey(key: "d_kv", path: "config.json")) {
            _ = try T5Configuration.decode(JSONSerialization.data(withJSONObject: t5))
        }
    }

    @Test("Out-of-range configuration values name their key")
    func unsupportedConfigurationValues() throws {
        let cases: [(String, String)] = [
            (#"{"vocab_size":10,"hidden_size":30,"intermediate_size":4,"num_hidden_layers":1,"num_attention_heads":4,"max_position_embeddings":77}"#, "num_attention_heads"),
            (#"{"vocab_size":10,"hidden_size":32,"intermediate_size":4,"num_hidden_layers":1,"num_attention_heads":4,"max_position_embeddings":77,"hidden_act":"swish"}"#, "hidden_act"),
            (#"{"vocab_size":10,"hidden_size":32,"intermediate_size":4,"num_hidden_layers":1,"num_attention_heads":4,"max_position_embeddings":0}"#, "max_position_embeddings"),
            (#"{"vocab_size":10,"hidden_size":"32","intermediate_size":4,"num_hidden_layers":1,"num_attention_heads":4,"max_position_embeddings":77}"#, "hidden_size"),
            (#"{"vocab_size":10,"hidden_size":32,"intermediate_size":4,"num_hidden_layers":1,"num_attention_heads":4,"max_position_embeddings":77,"layer_norm_eps":-1}"#, "layer_norm_eps"),
        ]
        for (json, key) in cases {
            #expect { _ = try CLIPTextConfiguration.decode(Data(json.utf8)) } throws: { ($0 as? TextEncoderConfigurationError)?.key == key }
        }
        let t5: [(String, String)] = [
            (#"{"vocab_size":10,"d_model":8,"d_kv":2,"d_ff":4,"num_layers":1,"num_heads":4,"feed_forward_proj":"gated-tanh"}"#, "feed_forward_proj"),
            (#"{"vocab_size":10,"d_model":8,"d_kv":2,"d_ff":4,"num_layers":1,"num_heads":4,"relative_attention_num_buckets":3}"#, "relative_attention_num_buckets"),
            (#"{"vocab_size":10,"d_model":8,"d_kv":2,"d_ff":4,"num_layers":1,"num_heads":4,"relative_attention_max_distance":8}"#, "relative_attention_max_distance"),
            (#"{"vocab_size":10,"d_model":8,"d_kv":0,"d_ff":4,"num_layers":1,"num_heads":4}"#, "d_kv"),
        ]
        for (json, key) in t5 {
            #expect { _ = try T5Configuration.decode(Data(json.utf8)) } throws: { ($0 as? TextEncoderConfigurationError)?.key == key }
        }
        let gated = try T5Configuration.decode(Data(#"{"vocab_size":10,"d_model":8,"d_kv":2,"d_ff":4,"num_layers":1,"num_heads":4,"feed_forward_proj":"gated-gelu"}"#.utf8))
        #expect(gated.feedForward == .gatedGELU)
    }

    @Test("Bad token batches are typed errors, not traps")
    func badInputs() throws {
        let model = try CLIPTextModel(directory: TextEncoderFixture(name: "clip-quick-gelu").directory)
        #expect(throws: TextEncoderError.tokenOutOfRange(row: 1, position: 2, id: 1000, vocabularySize: 1000)) { _ = try model([[1, 2, 3], [4, 5, 1000]]) }
        #expect(throws: TextEncoderError.sequenceTooLong(length: 78, maximum: 77)) { _ = try model([Array(repeating: 5, count: 78)]) }
        #expect(throws: TextEncoderError.raggedBatch(row: 1, length: 2, expected: 3)) { _ = try model([[1, 2, 3], [4, 5]]) }
        #expect(throws: TextEncoderError.emptyInput) { _ = try model([]) }
        let t5 = try T5EncoderModel(directory: TextEncoderFixture(name: "t5-relu").directory)
        #expect { _ = try t5([[5, 6]], attentionMask: [[1, 2]]) } throws: { error in
            if case TextEncoderError.badAttentionMask = error { return true } else { return false }
        }
        #expect(throws: TextEncoderError.tokenOutOfRange(row: 0, position: 0, id: -1, vocabularySize: 1000)) { _ = try t5([[-1]]) }
    }

    @Test("A folder without weights names the files looked for")
    func noWeights() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-encoders-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.copyItem(
            atPath: TextEncoderFixture(name: "t5-relu").directory + "/config.json", toPath: directory.path + "/config.json")
        #expect {
            _ = try T5EncoderModel(directory: directory.path)
        } throws: { error in
            guard case TextEncoderError.noWeights(_, let tried) = error else { return false }
            return tried == ["model.safetensors", "model.safetensors.index.json", "model.fp16.safetensors", "model.safetensors.index.fp16.json"]
        }
    }
}
