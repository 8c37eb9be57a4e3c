import PruneFlux
import PruneNN
import PruneTensor
import Testing

/// Parameter, head and FFN-neuron counts from a configuration alone (`research/architectures.md` §2.6).
@Suite struct FluxParameterAccountingTests {
    @Test("FLUX.1-dev has 11,901,408,320 parameters, 1368 attention heads and 933,888 FFN neurons")
    func fluxDev() {
        let accounting = FluxParameterAccounting(configuration: .fluxDev)
        #expect(accounting.parameterCount == 11_901_408_320)
        #expect(accounting.attentionHeadCount == 1368)
        #expect(accounting.feedForwardNeuronCount == 933_888)
        #expect(accounting.parameters.count == 1160)
    }

    @Test("FLUX.1-schnell has 11,891,178,560 parameters: dev less the 10,229,760 of the guidance embedder")
    func fluxSchnell() {
        let accounting = FluxParameterAccounting(configuration: .fluxSchnell)
        #expect(accounting.parameterCount == 11_891_178_560)
        #expect(accounting.parameters.count == 1156)
        #expect(FluxParameterAccounting(configuration: .fluxDev).parameterCount(under: "time_text_embed.guidance_embedder.") == 10_229_760)
    }

    @Test("FLUX.1-dev's per-block counts match the reference breakdown")
    func fluxDevBreakdown() {
        let accounting = FluxParameterAccounting(configuration: .fluxDev)
        #expect(accounting.parameterCount(under: "transformer_blocks.0.") == 339_831_296)
        #expect(accounting.parameterCount(under: "single_transformer_blocks.0.") == 141_591_808)
        #expect(accounting.parameterCount(under: "transformer_blocks.") == 6_456_794_624)
        #expect(accounting.parameterCount(under: "single_transformer_blocks.") == 5_380_488_704)
        let others = accounting.parameterCount - 6_456_794_624 - 5_380_488_704
        #expect(others == 64_124_992)
    }

    @Test("The fixture models' parameter counts agree with diffusers (68,484 and 488,960) and with the loaded weights")
    func fixtureCounts() throws {
        for (fixture, count) in zip(FluxFixture.all, [68_484, 488_960]) {
            let loaded = try fixture.loadModel()
            let accounting = FluxParameterAccounting(configuration: loaded.configuration)
            #expect(accounting.parameterCount == count, "\(fixture)")
            #expect(loaded.parameters.parameterCount == count, "\(fixture)")
        }
    }

    @Test("The model asks for exactly the parameters the accounting lists, also for a pruned structure")
    func accountingDescribesTheBuiltModel() {
        let configuration = FluxConfiguration(
            inChannels: 16, doubleBlockCount: 2, singleBlockCount: 2, headDimension: 8, headCount: 3,
            jointAttentionDimension: 12, pooledProjectionDimension: 10, guidanceEmbeds: true, ropeAxesDimensions: [2, 2, 4])
        var pruned = FluxStructure(configuration: configuration)
        pruned.doubleBlocks[0] = FluxDoubleBlockStructure(attentionHeads: 1, feedForwardWidth: 5, contextFeedForwardWidth: 0)
        pruned.singleBlocks[1] = FluxSingleBlockStructure(attentionHeads: 0, mlpWidth: 7)
        for structure in [FluxStructure(configuration: configuration), pruned] {
            let built = FluxModelLoader.random(configuration: configuration, structure: structure, seed: 1)
            let described = FluxParameterAccounting(configuration: configuration, structure: structure)
            #expect(built.parameters.orderedKeys == described.parameters.map(\.key))
            #expect(built.parameters.orderedKeys.map { built.parameters.parameters[$0]!.shape } == described.parameters.map(\.shape))
            #expect(built.parameters.parameterCount == described.parameterCount)
        }
        let prunedAccounting = FluxParameterAccounting(configuration: configuration, structure: pruned)
        #expect(prunedAccounting.attentionHeadCount == 3 * 4 - 2 - 3)
        #expect(prunedAccounting.feedForwardNeuronCount == 96 * 6 - (96 - 5) - 96 - (96 - 7))
    }
}

/// The bench-size FLUX-like configuration used by the benchmarks.
@Suite struct FluxBenchConfigurationTests {
    @Test("The bench-size FLUX model is a valid configuration with RoPE axes summing to its head width")
    func fluxBenchIsValid() throws {
        try FluxConfiguration.fluxBench.validate()
        let accounting = FluxParameterAccounting(configuration: .fluxBench)
        print("flux-bench: \(accounting.parameterCount) parameters, \(accounting.attentionHeadCount) heads, \(accounting.feedForwardNeuronCount) FFN neurons")
        #expect(accounting.attentionHeadCount == 8 * 12)
    }
}
