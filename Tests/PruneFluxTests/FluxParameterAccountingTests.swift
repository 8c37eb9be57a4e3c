import PruneFlux
import PruneKit
import PruneNN
import PruneTensor
import Testing

/// Parameter, head and FFN-neuron counts from a configuration alone (`research/architectures.md` §2.6),
/// through the generic ``ModelAccounting/init(layout:)`` over a shapes-only build.
@Suite struct FluxParameterAccountingTests {
    /// Parameter elements of `layout` whose key starts with `prefix`.
    static func parameterCount(_ layout: ModelLayout, under prefix: String) -> Int {
        layout.shapes.filter { $0.key.hasPrefix(prefix) }.values.reduce(0) { $0 + $1.reduce(1, *) }
    }

    @Test("FLUX.1-dev has 11,901,408,320 parameters, 1368 attention heads and 933,888 FFN neurons")
    func fluxDev() {
        let layout = FluxTransformer2DModel.layout(configuration: .fluxDev)
        #expect(ModelAccounting(layout: layout) == ModelAccounting(parameters: 11_901_408_320, heads: 1368, ffnNeurons: 933_888))
        #expect(layout.shapes.count == 1160)
    }

    @Test("FLUX.1-schnell has 11,891,178,560 parameters: dev less the 10,229,760 of the guidance embedder")
    func fluxSchnell() {
        let layout = FluxTransformer2DModel.layout(configuration: .fluxSchnell)
        #expect(ModelAccounting(layout: layout).parameters == 11_891_178_560)
        #expect(layout.shapes.count == 1156)
        #expect(Self.parameterCount(FluxTransformer2DModel.layout(configuration: .fluxDev), under: "time_text_embed.guidance_embedder.") == 10_229_760)
    }

    @Test("FLUX.1-dev's per-block counts match the reference breakdown")
    func fluxDevBreakdown() {
        let layout = FluxTransformer2DModel.layout(configuration: .fluxDev)
        #expect(Self.parameterCount(layout, under: "transformer_blocks.0.") == 339_831_296)
        #expect(Self.parameterCount(layout, under: "single_transformer_blocks.0.") == 141_591_808)
        #expect(Self.parameterCount(layout, under: "transformer_blocks.") == 6_456_794_624)
        #expect(Self.parameterCount(layout, under: "single_transformer_blocks.") == 5_380_488_704)
        let others = layout.parameterCount - 6_456_794_624 - 5_380_488_704
        #expect(others == 64_124_992)
    }

    @Test("The fixture models' parameter counts agree with diffusers (68,484 and 488,960) and with the loaded weights")
    func fixtureCounts() throws {
        for (fixture, count) in zip(FluxFixture.all, [68_484, 488_960]) {
            let loaded = try fixture.loadModel()
            #expect(ModelAccounting(layout: FluxTransformer2DModel.layout(configuration: loaded.configuration)).parameters == count, "\(fixture)")
            #expect(loaded.parameters.parameterCount == count, "\(fixture)")
        }
    }

    @Test("The shapes-only layout lists exactly the parameters the model builds, and counts pruned widths' units")
    func accountingDescribesTheBuiltModel() {
        let configuration = FluxConfiguration(
            inChannels: 16, doubleBlockCount: 2, singleBlockCount: 2, headDimension: 8, headCount: 3,
            jointAttentionDimension: 12, pooledProjectionDimension: 10, guidanceEmbeds: true, ropeAxesDimensions: [2, 2, 4])
        let pruned = UnitWidths([
            "transformer_blocks.0.attn": 1, "transformer_blocks.0.ff": 5, "transformer_blocks.0.ff_context": 0,
            "single_transformer_blocks.1.attn": 0, "single_transformer_blocks.1.mlp": 7,
        ])
        for widths in [UnitWidths.configuration, pruned] {
            let built = FluxModelLoader.random(configuration: configuration, widths: widths, seed: 1)
            let described = FluxTransformer2DModel.layout(configuration: configuration, widths: widths)
            #expect(built.parameters.parameters.mapValues(\.shape) == described.shapes)
            #expect(built.parameters.parameterCount == described.parameterCount)
            #expect(UnitWidths(layout: described).counts.filter { widths[$0.key] != nil } == widths.counts)
        }
        let prunedAccounting = ModelAccounting(layout: FluxTransformer2DModel.layout(configuration: configuration, widths: pruned))
        #expect(prunedAccounting.heads == 3 * 4 - 2 - 3)
        #expect(prunedAccounting.ffnNeurons == 96 * 6 - (96 - 5) - 96 - (96 - 7))
    }
}

/// The bench-size FLUX-like configuration used by the benchmarks.
@Suite struct FluxBenchConfigurationTests {
    @Test("The bench-size FLUX model is a valid configuration with RoPE axes summing to its head width")
    func fluxBenchIsValid() throws {
        try FluxConfiguration.fluxBench.validate()
        let accounting = ModelAccounting(layout: FluxTransformer2DModel.layout(configuration: .fluxBench))
        print("flux-bench: \(accounting.parameters) parameters, \(accounting.heads) heads, \(accounting.ffnNeurons) FFN neurons")
        #expect(accounting.heads == 8 * 12)
    }
}
