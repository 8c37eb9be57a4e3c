import PruneKit
import Testing

/// The test vectors of the architecture notes (§4.2, §4.7), which were run with diffusers.
@Suite struct SchedulerReferenceVectorTests {
    /// `|a − b| ≤ 10⁻⁶ + 10⁻⁶·|b|` for every pair (the notes print values rounded to about 7 digits).
    static func close(_ actual: ArraySlice<Float>, _ expected: [Float]) -> Bool {
        actual.count == expected.count && zip(actual, expected).allSatisfy { abs($0 - $1) <= 1e-6 + 1e-6 * abs($1) }
    }

    @Test("SDXL base, 50 leading steps: 981 … 1, σ 13.120416 … 0.041314, init_noise_sigma 13.158469")
    func sdxlLeading50() throws {
        let scheduler = try SchedulerPreset.sdxlBase.makeScheduler(steps: 50)
        let sigmas = try #require(scheduler.sigmas)
        #expect(scheduler.timesteps.count == 50)
        #expect(Array(scheduler.timesteps.prefix(3)) == [981, 961, 941])
        #expect(Array(scheduler.timesteps.suffix(2)) == [21, 1])
        #expect(Self.close(sigmas.prefix(3), [13.120416, 11.67605, 10.425045]))
        #expect(Self.close(sigmas.suffix(3), [0.141464, 0.041314, 0]))
        #expect(abs(scheduler.initNoiseSigma - 13.158469) < 1e-5)
    }

    @Test("SDXL base, 30 leading steps: 958, 925, 892 … 1, init_noise_sigma 11.520334")
    func sdxlLeading30() throws {
        let scheduler = try SchedulerPreset.sdxlBase.makeScheduler(steps: 30)
        #expect(Array(scheduler.timesteps.prefix(3)) == [958, 925, 892])
        #expect(scheduler.timesteps.last == 1)
        #expect(Self.close(try #require(scheduler.sigmas).prefix(3), [11.476851, 9.543586, 8.004313]))
        #expect(abs(scheduler.initNoiseSigma - 11.520334) < 1e-5)
    }

    @Test("trailing spacing (Turbo/Lightning): 8 steps 999 … 124 with σ 14.614647 … 0.397746")
    func trailing8() throws {
        let scheduler = try SchedulerPreset.sdxlLightning.makeScheduler(steps: 8)
        #expect(scheduler.timesteps == [999, 874, 749, 624, 499, 374, 249, 124])
        let expected: [Float] = [14.614647, 7.297354, 4.081731, 2.492532, 1.612887, 1.068952, 0.693205, 0.397746, 0]
        #expect(Self.close(try #require(scheduler.sigmas)[...], expected))
        #expect(scheduler.initNoiseSigma == scheduler.sigmas?.first)
        let input = scheduler.scaleModelInput(.ones([1]), stepIndex: 0).item()
        #expect(abs(input - 0.0682649) < 1e-6)
    }

    @Test("FLUX.1-dev at 1024² (4096 tokens, μ = 1.15), 28 steps: σ 1, 0.988409, 0.976222 … 0.104721, 0")
    func fluxDev1024() throws {
        let tokens = FlowMatchEulerDiscreteScheduler.imageSequenceLength(height: 1024, width: 1024)
        #expect(tokens == 4096)
        let scheduler = try SchedulerPreset.fluxDev.makeScheduler(steps: 28, imageSequenceLength: tokens)
        let sigmas = try #require(scheduler.sigmas)
        #expect(Self.close(sigmas.prefix(4), [1.0, 0.988409, 0.976222, 0.963394]))
        #expect(Self.close(sigmas.suffix(3), [0.195455, 0.104721, 0]))
        #expect(Self.close(scheduler.timesteps.prefix(3), [1000, 988.4086, 976.2225]))
        let flow = try #require(scheduler as? FlowMatchEulerDiscreteScheduler)
        #expect(abs(flow.transformerTimestep(at: 1) - 0.9884086) < 1e-6)
    }

    @Test("FLUX.1-dev at 512² (1024 tokens, μ = 0.63) and 768×1360 (4080 tokens, μ = 1.147292)")
    func fluxDevOtherSizes() throws {
        let small = try SchedulerPreset.fluxDev.makeScheduler(steps: 28, imageSequenceLength: 1024)
        #expect(Self.close(try #require(small.sigmas).prefix(4), [1.0, 0.980656, 0.960644, 0.939928]))
        #expect(Self.close(try #require(small.sigmas).suffix(3), [0.126204, 0.06502, 0]))
        let tokens = FlowMatchEulerDiscreteScheduler.imageSequenceLength(height: 768, width: 1360)
        #expect(tokens == 4080)
        #expect(abs(FlowMatchEulerDiscreteScheduler.calculateShift(imageSequenceLength: tokens) - 1.147292) < 1e-6)
        let wide = try SchedulerPreset.fluxDev.makeScheduler(steps: 50, imageSequenceLength: tokens)
        #expect(Self.close(try #require(wide.sigmas).prefix(4), [1.0, 0.993562, 0.986944, 0.980137]))
        #expect(Self.close(try #require(wide.sigmas).suffix(3), [0.116011, 0.060396, 0]))
    }

    @Test("FLUX.1-schnell: σ = linspace(1, 1/n, n) for 1, 2 and 4 steps, timesteps σ·1000")
    func fluxSchnell() throws {
        let cases: [(Int, [Float])] = [(1, [1, 0]), (2, [1, 0.5, 0]), (4, [1, 0.75, 0.5, 0.25, 0])]
        for (steps, expected) in cases {
            let scheduler = try SchedulerPreset.fluxSchnell.makeScheduler(steps: steps)
            #expect(scheduler.sigmas == expected)
            #expect(scheduler.timesteps == expected.dropLast().map { $0 * 1000 })
        }
    }

    @Test("trailing spacing follows np.arange exactly: 48 steps round 937.4999… down, 61 steps give 62 timesteps")
    func trailingArangeQuirks() throws {
        var config = SchedulerPreset.sdxlBaseConfig
        config.timestepSpacing = "trailing"
        var scheduler = try EulerDiscreteScheduler(config: config)
        try scheduler.setTimesteps(48)
        #expect(Array(scheduler.timesteps.prefix(5)) == [999, 978, 957, 936, 916])
        try scheduler.setTimesteps(61)
        #expect(scheduler.timesteps.count == 62)
        #expect(scheduler.sigmas?.count == 63)
    }
}
