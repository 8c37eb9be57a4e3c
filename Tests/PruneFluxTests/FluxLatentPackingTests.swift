import PruneNN
import PruneTensor
import Testing

/// 2×2 latent packing and position ids against `FluxPipeline` (the flux-small sampling fixture).
@Suite struct FluxLatentPackingTests {
    private let sampling = FluxFixture.all[1]

    @Test("Packing the noise latent [1, 16, 8, 12] reproduces FluxPipeline._pack_latents exactly")
    func packMatchesPipeline() throws {
        let file = try sampling.file("sampling")
        let packed = FluxLatentPacking.pack(try file.tensor("noise_unpacked"))
        let expected = try file.tensor("noise")
        #expect(packed.shape == [1, 24, 64])
        #expect(packed.scalars() == expected.scalars())
    }

    @Test("Unpacking inverts packing")
    func unpackInvertsPack() throws {
        let latent = Tensor.randomNormal([2, 3, 4, 6], seed: 7)
        let packed = FluxLatentPacking.pack(latent)
        #expect(packed.shape == [2, 6, 12])
        let restored = FluxLatentPacking.unpack(packed, height: 4, width: 6)
        #expect(restored.shape == latent.shape && restored.scalars() == latent.scalars())
    }

    @Test("Token r·(w/2)+c holds channel c·4 + dy·2 + dx of the 2×2 patch")
    func channelOrder() {
        // Latent [1, 2, 2, 2] with distinct values: value = 100·c + 10·y + x.
        var values: [Float] = []
        for c in 0..<2 { for y in 0..<2 { for x in 0..<2 { values.append(Float(100 * c + 10 * y + x)) } } }
        let packed = FluxLatentPacking.pack(Tensor(values, shape: [1, 2, 2, 2]))
        #expect(packed.scalars() == [0, 1, 10, 11, 100, 101, 110, 111])
    }

    @Test("Image and text ids equal the ids the pipeline passed to the transformer")
    func idsMatchPipeline() throws {
        let file = try sampling.file("sampling")
        #expect(FluxLatentPacking.imageIDs(rows: 4, columns: 6).scalars() == (try file.tensor("img_ids")).scalars())
        #expect(FluxLatentPacking.textIDs(count: 10).scalars() == (try file.tensor("txt_ids")).scalars())
    }
}
