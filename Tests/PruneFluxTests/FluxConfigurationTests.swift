import Foundation
import PruneFlux
import PruneTestSupport
import Testing

/// Decoding diffusers' `config.json`: defaults, presets, round trip and unsupported values.
@Suite struct FluxConfigurationTests {
    private func decode(_ json: String) throws -> FluxConfiguration {
        try JSONDecoder().decode(FluxConfiguration.self, from: Data(json.utf8))
    }

    /// The key named by a decoding failure, or `nil` when decoding succeeded or failed otherwise.
    private func rejectedKey(_ json: String) -> String? {
        do {
            _ = try decode(json)
            return nil
        } catch FluxConfigurationError.unsupportedValue(let key, _, _) {
            return key
        } catch {
            return nil
        }
    }

    @Test("The fixtures' config.json files decode to their diffusers values")
    func decodesFixtures() throws {
        let tiny = try FluxConfiguration.load(path: Fixtures.path("flux-tiny/config.json"))
        #expect(tiny == FluxConfiguration(
            inChannels: 4, doubleBlockCount: 1, singleBlockCount: 1, headDimension: 16, headCount: 2,
            jointAttentionDimension: 32, pooledProjectionDimension: 32, guidanceEmbeds: false, ropeAxesDimensions: [4, 4, 8]))
        #expect(tiny.resolvedOutChannels == 4)
        let small = try FluxConfiguration.load(path: Fixtures.path("flux-small/config.json"))
        #expect(small.guidanceEmbeds && small.headCount == 4 && small.innerDimension == 64 && small.ropeAxesDimensions == [4, 6, 6])
    }

    @Test("Absent keys take diffusers' defaults, which are FLUX.1-schnell's values")
    func defaults() throws {
        let empty = try decode("{}")
        #expect(empty == FluxConfiguration.fluxSchnell)
        #expect(empty.resolvedOutChannels == 64 && empty.innerDimension == 3072 && empty.ropeAxesDimensions == [16, 56, 56])
        let devFile = try decode("""
            {"_class_name": "FluxTransformer2DModel", "_diffusers_version": "0.30.0.dev0", "attention_head_dim": 128,
             "guidance_embeds": true, "in_channels": 64, "joint_attention_dim": 4096, "num_attention_heads": 24,
             "num_layers": 19, "num_single_layers": 38, "patch_size": 1, "pooled_projection_dim": 768}
            """)
        #expect(devFile == FluxConfiguration.fluxDev)
    }

    @Test("Encoding writes diffusers' keys and decodes back to the same configuration")
    func roundTrip() throws {
        let original = FluxConfiguration(inChannels: 16, outChannels: 8, doubleBlockCount: 2, headDimension: 8, ropeAxesDimensions: [2, 2, 4])
        let data = try JSONEncoder().encode(original)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["_class_name"] as? String == "FluxTransformer2DModel")
        #expect(object["num_layers"] as? Int == 2 && object["axes_dims_rope"] as? [Int] == [2, 2, 4] && object["out_channels"] as? Int == 8)
        #expect(try JSONDecoder().decode(FluxConfiguration.self, from: data) == original)
    }

    @Test("Unsupported values throw an error naming the config key")
    func unsupportedValues() {
        #expect(rejectedKey(#"{"patch_size": 2}"#) == "patch_size")
        #expect(rejectedKey(#"{"axes_dims_rope": [16, 56, 48]}"#) == "axes_dims_rope")
        #expect(rejectedKey(#"{"attention_head_dim": 15, "axes_dims_rope": [5, 5, 5]}"#) == "axes_dims_rope")
        #expect(rejectedKey(#"{"num_attention_heads": 0}"#) == "num_attention_heads")
        #expect(rejectedKey(#"{"num_layers": -1}"#) == "num_layers")
        #expect(rejectedKey(#"{"out_channels": 0}"#) == "out_channels")
        #expect(rejectedKey(#"{"_class_name": "UNet2DConditionModel"}"#) == "_class_name")
    }

    @Test("A mistyped value makes load(path:) throw an unreadable error that names the key")
    func mistypedValue() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("flux-config-\(UUID().uuidString).json")
        try Data(#"{"num_layers": "nineteen"}"#.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let result = Result { () throws(FluxConfigurationError) in try FluxConfiguration.load(path: url.path) }
        guard case .failure(.unreadable(_, let reason)) = result else {
            Issue.record("expected an unreadable-configuration error, got \(result)")
            return
        }
        #expect(reason.contains("num_layers"))
    }
}
