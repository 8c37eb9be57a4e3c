import PruneFlux
import PruneNN
import PruneTensor
import PruneTestSupport
import Testing

/// FLUX rotary tables (`FluxPosEmbed`) against diffusers and the reference test vectors.
@Suite struct FluxPositionEmbeddingTests {
    @Test("cos/sin equal diffusers' FluxPosEmbed (axes [2, 2, 4], a non-integer id) bit for bit")
    func matchesDiffusersTables() throws {
        let ops = try SafetensorsFile.open(Fixtures.path("ops/ops.safetensors"))
        let (cos, sin) = FluxPositionEmbedding(axesDimensions: [2, 2, 4])(try ops.tensor("flux_rope.ids"))
        for (actual, expected) in [(cos, try ops.tensor("flux_rope.cos")), (sin, try ops.tensor("flux_rope.sin"))] {
            #expect(actual.shape == [6, 8])
            #expect(actual.scalars() == expected.scalars())
        }
    }

    @Test("The FLUX.1 tables for id (0, 3, 5) match the reference vectors of architectures.md §4.8")
    func matchesReferenceVectors() {
        let (cos, sin) = FluxPositionEmbedding(axesDimensions: [16, 56, 56])(Tensor([0, 3, 5], shape: [1, 3]))
        let (c, s) = (cos.scalars(), sin.scalars())
        func close(_ actual: ArraySlice<Float>, _ expected: [Float]) -> Bool {
            zip(actual, expected).allSatisfy { abs($0 - $1) <= 1e-6 }
        }
        #expect(c.count == 128)
        #expect(close(c[0..<2], [1, 1]))
        #expect(close(c[16..<20], [-0.9899925, -0.9899925, -0.5549149, -0.5549149]))
        #expect(close(s[16..<20], [0.14112, 0.14112, 0.8319071, 0.8319071]))
        #expect(close(c[72..<76], [0.2836622, 0.2836622, -0.8974528, -0.8974528]))
        #expect(close(s[72..<76], [-0.9589243, -0.9589243, -0.4411105, -0.4411105]))
    }

    @Test("Zero ids (text tokens) give the identity rotation")
    func zeroIdsDoNotRotate() {
        let (cos, sin) = FluxPositionEmbedding(axesDimensions: [4, 6, 6])(Tensor.zeros([3, 3]))
        #expect(cos.scalars().allSatisfy { $0 == 1 })
        #expect(sin.scalars().allSatisfy { $0 == 0 })
    }
}
