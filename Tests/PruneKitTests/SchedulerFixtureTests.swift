import Foundation
import PruneKit
import PruneTensor
import PruneTestSupport
import Testing

/// One scheduler configuration of the fixture at one step count.
struct ScheduleCase: Sendable, CustomTestStringConvertible {
    let key: String
    let steps: Int
    var testDescription: String { "\(key) @ \(steps) steps" }

    static var all: [ScheduleCase] {
        SchedulerFixture.shared.schedulers.keys.sorted().flatMap { key in
            SchedulerFixture.shared.schedulers[key]!.bySteps.keys.compactMap(Int.init).sorted()
                .map { ScheduleCase(key: key, steps: $0) }
        }
    }
}

/// Schedules and step outputs against diffusers 0.42 (`Tests/Fixtures/schedulers/schedulers.json`).
@Suite struct SchedulerFixtureTests {
    static let scheduleTolerance = 1e-6
    static let stepTolerance: Float = 1e-5

    let fixture = SchedulerFixture.shared

    /// The fixture scheduler `key` with its timesteps set the way the fixture set them.
    func scheduler(_ key: String, steps: Int, sigmas: [Double]?, mu: Double?) throws -> any Scheduler {
        var scheduler = try fixture.configuration(key).makeScheduler()
        if let sigmas {
            var flow = try #require(scheduler as? FlowMatchEulerDiscreteScheduler)
            try flow.setTimesteps(sigmas: sigmas, mu: mu)
            scheduler = flow
        } else {
            try scheduler.setTimesteps(steps, mu: mu)
        }
        return scheduler
    }

    @Test("the scaled_linear DDPM table (betas, cumulative alphas) equals PyTorch's float32 values bit for bit")
    func noiseTable() throws {
        let table = try DiscreteNoiseTable(config: SchedulerPreset.sdxlBaseConfig)
        #expect(table.betas.map(Double.init) == fixture.tables.betas)
        #expect(table.alphasCumprod.map(Double.init) == fixture.tables.alphasCumprod)
        #expect(abs(table.sigmas[0] - 0.029167533) < 1e-8)
        #expect(abs(table.sigmas[999] - 14.614647) < 1e-5)
    }

    @Test("timesteps, sigmas and init_noise_sigma match diffusers for every configuration and step count",
          arguments: ScheduleCase.all)
    func schedule(_ test: ScheduleCase) throws {
        let expected = try #require(fixture.schedulers[test.key]?.bySteps[String(test.steps)])
        let scheduler = try scheduler(test.key, steps: test.steps, sigmas: expected.sigmasPassed, mu: expected.mu)
        #expect(scheduler.diffusersClassName == fixture.schedulers[test.key]?.class)

        try #require(scheduler.timesteps.count == expected.timesteps.count, "timestep count")
        let timestepError = maxRelativeError(scheduler.timesteps, expected.timesteps)
        #expect(timestepError <= Self.scheduleTolerance, "timesteps \(scheduler.timesteps) vs \(expected.timesteps)")
        if let expectedSigmas = expected.sigmas {
            let sigmas = try #require(scheduler.sigmas)
            try #require(sigmas.count == expectedSigmas.count, "sigma count")
            let sigmaError = maxRelativeError(sigmas, expectedSigmas)
            #expect(sigmaError <= Self.scheduleTolerance, "sigmas \(sigmas) vs \(expectedSigmas)")
        } else {
            #expect(scheduler.sigmas == nil)
        }
        if let expectedInit = expected.initNoiseSigma {
            let noiseSigmaError = maxRelativeError([scheduler.initNoiseSigma], [expectedInit])
            #expect(noiseSigmaError <= Self.scheduleTolerance, "init_noise_sigma \(scheduler.initNoiseSigma) vs \(expectedInit)")
        } else {
            #expect(scheduler.initNoiseSigma == 1, "flow matching draws unscaled latents")
        }
    }

    @Test("DDIM and LCM pick the same cumulative alphas as diffusers at each timestep", arguments: ScheduleCase.all.filter {
        $0.key.hasPrefix("ddim") || $0.key == "lcm"
    })
    func discreteAlphas(_ test: ScheduleCase) throws {
        let expected = try #require(fixture.schedulers[test.key]?.bySteps[String(test.steps)])
        let scheduler = try scheduler(test.key, steps: test.steps, sigmas: nil, mu: nil)
        let table: DiscreteNoiseTable
        let timesteps: [Int]
        if let ddim = scheduler as? DDIMScheduler {
            table = ddim.table
            timesteps = ddim.integerTimesteps
            #expect(ddim.finalAlphaCumprod == Float(try #require(expected.finalAlphaCumprod)))
            let previous = ddim.timesteps.indices.map { ddim.alphas(atStep: $0).previous }
            #expect(previous.map(Double.init) == expected.alphasCumprodPrev)
            #expect(timesteps.map { $0 - 1000 / test.steps } == expected.prevTimesteps)
        } else {
            let lcm = try #require(scheduler as? LCMScheduler)
            table = lcm.table
            timesteps = lcm.integerTimesteps
        }
        #expect(timesteps.map { Double(table.alphasCumprod[$0]) } == expected.alphasCumprodT)
    }

    @Test("the FLUX pipeline helper reproduces the fixture's dynamic-shift schedules from the sequence length",
          arguments: ScheduleCase.all.filter { $0.key.hasPrefix("flowmatch_dynamic_seq") })
    func pipelineHelper(_ test: ScheduleCase) throws {
        let expected = try #require(fixture.schedulers[test.key]?.bySteps[String(test.steps)])
        let tokens = try #require(Int(test.key.replacingOccurrences(of: "flowmatch_dynamic_seq", with: "")))
        guard case .flowMatchEulerDiscrete(let config) = try fixture.configuration(test.key) else {
            Issue.record("not a flow-matching config")
            return
        }
        var scheduler = try FlowMatchEulerDiscreteScheduler(config: config)
        #expect(FlowMatchEulerDiscreteScheduler.pipelineSigmas(steps: test.steps) == expected.sigmasPassed)
        #expect(scheduler.mu(imageSequenceLength: tokens) == expected.mu)
        try scheduler.setPipelineTimesteps(test.steps, imageSequenceLength: tokens)
        #expect(maxRelativeError(scheduler.timesteps, expected.timesteps) <= Self.scheduleTolerance)
        #expect(maxRelativeError(scheduler.schedule, try #require(expected.sigmas)) <= Self.scheduleTolerance)
    }

    @Test("calculate_shift matches the pipeline's mu for every recorded sequence length")
    func calculateShift() throws {
        #expect(!fixture.calculateShift.isEmpty)
        for (key, expected) in fixture.calculateShift {
            let tokens = try #require(Int(key))
            let mu = FlowMatchEulerDiscreteScheduler.calculateShift(imageSequenceLength: tokens)
            #expect(abs(mu - expected) <= 1e-12 * abs(expected), "calculate_shift(\(tokens)) = \(mu), expected \(expected)")
        }
    }

    @Test("the first two steps (input scaling, update, clean estimate) match diffusers with the recorded noise",
          arguments: SchedulerFixture.shared.stepCases.keys.sorted())
    func steps(_ key: String) throws {
        let test = try #require(fixture.stepCases[key])
        let scheduler = try scheduler(
            test.config, steps: test.numInferenceSteps, sigmas: test.setTimestepsKwargs.sigmas,
            mu: test.setTimestepsKwargs.mu)
        #expect(maxRelativeError(scheduler.timesteps, test.timesteps) <= Self.scheduleTolerance)
        var worst: Float = 0
        for step in test.steps {
            #expect(Double(scheduler.timesteps[step.index]) == step.timestep)
            let sample = vector(step.sample)
            if let expected = step.scaledModelInput {
                let error = elementwiseRelativeError(scheduler.scaleModelInput(sample, stepIndex: step.index), vector(expected))
                #expect(error <= Self.stepTolerance, "scale_model_input at step \(step.index): \(error)")
                worst = max(worst, error)
            }
            #expect(scheduler.needsNoise(atStep: step.index) == (step.noise != nil), "noise use at step \(step.index)")
            let output = scheduler.stepOutput(
                modelOutput: vector(step.modelOutput), stepIndex: step.index, sample: sample,
                noise: step.noise.map { vector($0) })
            let error = elementwiseRelativeError(output.prevSample, vector(step.prevSample))
            #expect(error <= Self.stepTolerance, "prev_sample at step \(step.index): \(error)")
            worst = max(worst, error)
            if let expected = step.predOriginalSample ?? step.denoised {
                let estimate = try #require(output.predictedOriginalSample)
                let error = elementwiseRelativeError(estimate, vector(expected))
                #expect(error <= Self.stepTolerance, "clean estimate at step \(step.index): \(error)")
                worst = max(worst, error)
            }
        }
        #expect(worst <= Self.stepTolerance)
    }
}
