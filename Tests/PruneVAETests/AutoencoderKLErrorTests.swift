import Foundation
import PruneNN
import PruneTensor
import PruneTestSupport
import PruneVAE
import Testing

@Suite("AutoencoderKL input and weight errors")
struct AutoencoderKLErrorTests {
    @Test("a configuration that does not match its weights names each key with both shapes")
    func mismatchedWeights() throws {
        let fixture = try VAEFixture("sdxl-like")
        var configuration = try AutoencoderKLConfiguration(contentsOf: fixture.directory + "/config.json")
        configuration.blockOutChannels = [8, 32]  // the weights have 16 at level 1
        let source = try SafetensorsTensorSource(file: fixture.directory + "/diffusion_pytorch_model.safetensors")
        do {
            _ = try AutoencoderKL(configuration: configuration, tensors: source, sourceName: "sdxl-like/vae")
            Issue.record("expected a weights mismatch")
        } catch {
            guard case .weightsMismatch(.mismatched(let name, let problems)) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(name == "sdxl-like/vae")
            #expect(problems.contains(.shapeMismatch(key: "decoder.conv_in.weight", expected: [32, 4, 3, 3], actual: [16, 4, 3, 3])))
            #expect(problems.contains(.shapeMismatch(
                key: "encoder.mid_block.attentions.0.to_q.weight", expected: [32, 32], actual: [16, 16])))
            #expect(problems.contains(.shapeMismatch(key: "encoder.down_blocks.1.resnets.0.conv1.weight", expected: [32, 8, 3, 3], actual: [16, 8, 3, 3])))
            let text = error.description
            #expect(text.contains("decoder.conv_in.weight: expected shape [32, 4, 3, 3], found [16, 4, 3, 3]"))
            #expect(problems.count > 20)
        }
    }

    @Test("weights without quant convolutions for a configuration with them report the missing keys")
    func missingQuantConvolutions() throws {
        let fixture = try VAEFixture("flux-like")
        var configuration = try AutoencoderKLConfiguration(contentsOf: fixture.directory + "/config.json")
        configuration.useQuantConvolution = true
        let source = try SafetensorsTensorSource(file: fixture.directory + "/diffusion_pytorch_model.safetensors")
        #expect(throws: VAEError.weightsMismatch(.mismatched(source: "flux", problems: [
            .missing(key: "quant_conv.weight", expected: [32, 32, 1, 1]), .missing(key: "quant_conv.bias", expected: [32]),
        ]))) {
            _ = try AutoencoderKL(configuration: configuration, tensors: source, sourceName: "flux")
        }
    }

    @Test("an image size that is not a multiple of the VAE factor is a typed error")
    func indivisibleImage() throws {
        let vae = try VAEFixture("deep-no-attention").model()  // factor 4
        #expect(throws: VAEError.indivisibleImageSize(height: 18, width: 24, factor: 4)) {
            _ = try vae.encode(Tensor.zeros([1, 3, 18, 24]))
        }
        #expect(throws: VAEError.invalidInput(argument: "image", expected: "[B, 3, H, W]", actual: [1, 4, 16, 16])) {
            _ = try vae.encode(Tensor.zeros([1, 4, 16, 16]))
        }
    }

    @Test("latents with the wrong channel count or rank are typed errors")
    func badLatents() throws {
        let vae = try VAEFixture("sdxl-like").model()
        #expect(throws: VAEError.self) { _ = try vae.decode(Tensor.zeros([1, 16, 4, 4])) }
        #expect(throws: VAEError.self) { _ = try vae.decode(Tensor.zeros([4, 4, 4])) }
        #expect(throws: VAEError.self) { _ = try vae.decodeSDXLLatents(Tensor.zeros([1, 3, 4, 4])) }
    }

    @Test("FLUX packed latents that do not fit the image size are a typed error")
    func badPackedLatents() throws {
        let vae = try VAEFixture("flux-like").model()
        #expect(throws: VAEError.packedLatentsMismatch(shape: [1, 24, 64], height: 32, width: 24, expectedTokens: 48)) {
            _ = try vae.decodeFluxLatents(Tensor.zeros([1, 24, 64]), height: 32, width: 24)
        }
        #expect(throws: VAEError.self) { _ = try vae.decodeFluxLatents(Tensor.zeros([1, 24, 60]), height: 16, width: 24) }
    }

    @Test("noise of the wrong shape for sampling is a typed error")
    func badNoise() throws {
        let fixture = try VAEFixture("sdxl-like")
        let posterior = try fixture.model().encode(fixture.input("image"))
        #expect(throws: VAEError.self) { _ = try posterior.sample(noise: Tensor.zeros([1, 4, 2, 2])) }
        var generator = SeededGenerator(seed: 7)
        #expect(posterior.sample(using: &generator).shape == posterior.mean.shape)
    }
}
