import PruneTensor
import PruneTestSupport
import PruneVAE
import Testing

@Suite("AutoencoderKL against diffusers")
struct AutoencoderKLFixtureTests {
    @Test("decode matches diffusers' vae.decode within 1e-4", arguments: VAEFixture.cases)
    func decode(name: String) throws {
        let fixture = try VAEFixture(name)
        let decoded = try fixture.model().decode(fixture.input("latents"), mode: .untiled)
        let error = maximumRelativeError(decoded, try fixture.reference("decoded"))
        print("[vae] \(name) decode max rel \(error)")
        #expect(error < fixtureTolerance)
    }

    @Test("encode's mean, log-variance, std and sample match diffusers' latent distribution", arguments: VAEFixture.cases)
    func encode(name: String) throws {
        let fixture = try VAEFixture(name)
        let posterior = try fixture.model().encode(fixture.input("image"))
        let errors = [
            ("mean", maximumRelativeError(posterior.mode(), try fixture.reference("encoded_mean"))),
            ("logvar", maximumRelativeError(posterior.logVariance, try fixture.reference("encoded_logvar"))),
            ("std", maximumRelativeError(posterior.standardDeviation, try fixture.reference("encoded_std"))),
            ("sample", maximumRelativeError(try posterior.sample(noise: fixture.input("noise")), try fixture.reference("encoded_sample"))),
        ]
        for (what, error) in errors {
            print("[vae] \(name) encode \(what) max rel \(error)")
            #expect(error < fixtureTolerance, "\(what)")
        }
    }

    @Test("a latent larger than one tile decodes as diffusers' tiled_decode")
    func tiledDecode() throws {
        let fixture = try VAEFixture("tiled")
        let vae = try fixture.model()
        let latents = try fixture.input("latents")
        let tiling = VAETiling(configuration: vae.configuration)
        #expect(tiling.sampleTileSize == 16 && tiling.latentTileSize == 8)
        let tiled = try vae.decode(latents, mode: .tiled(tiling))
        let error = maximumRelativeError(tiled, try fixture.reference("tiled_decoded"))
        print("[vae] tiled tiled_decode max rel \(error)")
        #expect(error < fixtureTolerance)
        // The default mode tiles here too: 28×40 output pixels exceed sample_size² = 256.
        let automatic = try vae.decode(latents)
        #expect(maximumRelativeError(automatic, tiled) == 0)
        // Tiling really changes the result (the fixture records 0.39 between the two).
        #expect(maximumRelativeError(tiled, try fixture.reference("decoded")) > 0.01)
    }

    @Test("a pixel budget decodes untiled at or below it and tiled above it")
    func pixelBudget() throws {
        let fixture = try VAEFixture("tiled")
        let vae = try fixture.model()
        let latents = try fixture.input("latents")  // 28×40 = 1,120 output pixels
        let tiling = VAETiling(sampleTileSize: 16, configuration: vae.configuration)
        let under = try vae.decode(latents, mode: .budget(pixelBudget: 1_120, tiling: tiling))
        #expect(maximumRelativeError(under, try fixture.reference("decoded")) < fixtureTolerance)
        let over = try vae.decode(latents, mode: .budget(pixelBudget: 1_119, tiling: tiling))
        #expect(maximumRelativeError(over, try fixture.reference("tiled_decoded")) < fixtureTolerance)
    }

    @Test("a tile too small to make progress is a typed error, not a hang")
    func degenerateTile() throws {
        let vae = try VAEFixture("tiled").model()
        let latents = Tensor.zeros([1, 4, 6, 6])
        #expect(throws: VAEError.self) {
            _ = try vae.decode(latents, mode: .tiled(VAETiling(sampleTileSize: 2, configuration: vae.configuration)))
        }
        #expect(throws: VAEError.self) {
            _ = try vae.decode(latents, mode: .tiled(VAETiling(sampleTileSize: 8, configuration: vae.configuration, overlapFactor: 1)))
        }
    }

    @Test("a tiled mode on a latent no larger than one tile decodes untiled, as diffusers' _decode")
    func tiledSmallLatent() throws {
        let fixture = try VAEFixture("tiled")
        let vae = try fixture.model()
        let latents = try fixture.input("latents").sliced(axis: 2, 0..<8).sliced(axis: 3, 0..<8)
        let tiled = try vae.decode(latents, mode: .tiled(VAETiling(configuration: vae.configuration)))
        let untiled = try vae.decode(latents, mode: .untiled)
        #expect(maximumRelativeError(tiled, untiled) == 0)
    }

    @Test("the SDXL pipeline's latents become diffusers' image and 8-bit RGB within one level")
    func sdxlPipeline() throws {
        let fixture = try VAEFixture("sdxl-like")
        let vae = try fixture.model()
        let image = try vae.decodeSDXLLatents(fixture.input("pipeline_latents"))
        let error = maximumRelativeError(image, try fixture.reference("pipeline_decoded"))
        print("[vae] sdxl-like pipeline decode max rel \(error)")
        #expect(error < fixtureTolerance)
        try expectBytes(VAEImageProcessor.rgb8Images(image), match: fixture.reference("pipeline_image_u8"), name: "sdxl-like")
    }

    @Test("the FLUX pipeline's packed latents are unpacked, unscaled and shifted as diffusers does")
    func fluxPipeline() throws {
        let fixture = try VAEFixture("flux-like")
        let vae = try fixture.model()
        let height = try #require(Int(fixture.expected.metadata["pipeline_height"] ?? ""))
        let width = try #require(Int(fixture.expected.metadata["pipeline_width"] ?? ""))
        let image = try vae.decodeFluxLatents(fixture.input("pipeline_packed_latents"), height: height, width: width)
        let error = maximumRelativeError(image, try fixture.reference("pipeline_decoded"))
        print("[vae] flux-like pipeline decode max rel \(error)")
        #expect(error < fixtureTolerance)
        try expectBytes(VAEImageProcessor.rgb8Images(image), match: fixture.reference("pipeline_image_u8"), name: "flux-like")
    }

    /// Every byte within one level of diffusers' PIL image (`expected` `[B, H, W, 3]` as float32).
    private func expectBytes(_ images: [RGB8Image], match expected: Tensor, name: String) {
        #expect(images.count == expected.shape[0])
        let reference = expected.scalars()
        var worst = 0
        var differing = 0
        for (b, image) in images.enumerated() {
            #expect(image.height == expected.shape[1] && image.width == expected.shape[2])
            let offset = b * image.bytes.count
            for (i, byte) in image.bytes.enumerated() {
                let difference = abs(Int(byte) - Int(reference[offset + i]))
                worst = max(worst, difference)
                if difference > 0 { differing += 1 }
            }
        }
        print("[vae] \(name) 8-bit image: max difference \(worst) levels, \(differing) bytes differ")
        #expect(worst <= 1)
    }
}
