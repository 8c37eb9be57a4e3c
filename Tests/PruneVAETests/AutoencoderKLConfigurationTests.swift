import Foundation
import PruneTestSupport
import PruneVAE
import Testing

@Suite("AutoencoderKLConfiguration")
struct AutoencoderKLConfigurationTests {
    private func decode(_ json: String) throws(VAEError) -> AutoencoderKLConfiguration {
        try AutoencoderKLConfiguration(json: Data(json.utf8), source: "vae/config.json")
    }

    @Test("the FLUX-like fixture's config.json decodes with its shift factor and without quant convolutions")
    func fluxConfiguration() throws {
        let configuration = try AutoencoderKLConfiguration(contentsOf: Fixtures.path("vae/flux-like/config.json"))
        #expect(configuration.latentChannels == 16 && configuration.blockOutChannels == [8, 16])
        #expect(configuration.scalingFactor == 0.3611 && configuration.shiftFactor == 0.1159)
        #expect(!configuration.useQuantConvolution && !configuration.usePostQuantConvolution)
        #expect(configuration.downsamplingFactor == 2 && configuration.sampleSize == 32)
    }

    @Test("absent keys take diffusers' defaults and null shift_factor stays nil")
    func defaults() throws {
        let configuration = try decode(#"{"_class_name": "AutoencoderKL", "shift_factor": null, "block_out_channels": [32, 64], "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D"], "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D"], "sample_size": [64, 64]}"#)
        #expect(configuration.shiftFactor == nil && configuration.scalingFactor == 0.18215)
        #expect(configuration.useQuantConvolution && configuration.midBlockAddAttention && configuration.layersPerBlock == 1)
        #expect(configuration.sampleSize == 64)
    }

    @Test("out-of-range or mistyped values name their key", arguments: [
        (#"{"latent_channels": 0}"#, "latent_channels"),
        (#"{"block_out_channels": [30], "norm_num_groups": 32}"#, "block_out_channels"),
        (#"{"block_out_channels": [32, 64]}"#, "down_block_types"),
        (#"{"act_fn": "gelu", "block_out_channels": [32]}"#, "act_fn"),
        (#"{"scaling_factor": -1, "block_out_channels": [32]}"#, "scaling_factor"),
        (#"{"use_quant_conv": 1, "block_out_channels": [32]}"#, "use_quant_conv"),
        (#"{"layers_per_block": 1.5}"#, "layers_per_block"),
        (#"{"_class_name": "AutoencoderTiny"}"#, "_class_name"),
        (#"{"latents_mean": [0.1, 0.2], "latents_std": [1, 1], "block_out_channels": [32]}"#, "latents_mean"),
    ])
    func invalid(json: String, key: String) {
        do {
            _ = try decode(json)
            Issue.record("expected an error for \(key)")
        } catch {
            guard case .invalidConfiguration(let source, let reported, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(source == "vae/config.json")
            #expect(reported == key)
        }
    }

    @Test("a file that is not a JSON object is unreadable, not a crash")
    func notJSON() {
        #expect(throws: VAEError.self) { _ = try decode("[1, 2]") }
        #expect(throws: VAEError.self) { _ = try AutoencoderKLConfiguration(contentsOf: "/nonexistent/config.json") }
    }
}
