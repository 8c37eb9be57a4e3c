import PruneKit
import PruneTensor
import Testing

/// Step updates checked against hand-derived formulas and exact-solution properties.
@Suite struct SchedulerFormulaTests {
    /// A deterministic latent-shaped tensor `[1, 4, 2, 2]`.
    static func latent(_ seed: UInt64, requiresGradient: Bool = false) -> Tensor {
        Tensor.randomNormal([1, 4, 2, 2], seed: seed, requiresGradient: requiresGradient)
    }

    @Test("an Euler ε step is x + (σ_{i+1} − σ_i)·ε, with the input scaled by 1/√(σ² + 1)")
    func eulerEpsilon() throws {
        var scheduler = try EulerDiscreteScheduler(config: SchedulerPreset.sdxlBaseConfig)
        try scheduler.setTimesteps(30)
        let x = Self.latent(1) * 10
        let eps = Self.latent(2)
        for i in [0, 7, 29] {
            let sigma = scheduler.schedule[i]
            let next = scheduler.schedule[i + 1]
            let expected = x + eps * (next - sigma)
            #expect(scaledError(scheduler.step(modelOutput: eps, stepIndex: i, sample: x), expected) < 1e-6)
            let scaled = scheduler.scaleModelInput(x, stepIndex: i)
            #expect(scaledError(scaled, x * (1 / (sigma * sigma + 1).squareRoot())) < 1e-6)
        }
        #expect(scheduler.needsNoise(atStep: 0) == false)
    }

    @Test("Euler v-prediction recovers x₀ from the exact velocity √ᾱ·ε − √(1−ᾱ)·x₀")
    func eulerVPrediction() throws {
        var config = SchedulerPreset.sdxlBaseConfig
        config.predictionType = "v_prediction"
        var scheduler = try EulerDiscreteScheduler(config: config)
        try scheduler.setTimesteps(10)
        let x0 = Self.latent(3)
        let eps = Self.latent(4)
        for i in [0, 5, 9] {
            let sigma = scheduler.schedule[i]
            let alpha = 1 / (sigma * sigma + 1).squareRoot()
            let x = x0 + eps * sigma
            let v = eps * alpha - x0 * (sigma * alpha)
            let output = scheduler.stepOutput(modelOutput: v, stepIndex: i, sample: x, noise: nil)
            #expect(scaledError(try #require(output.predictedOriginalSample), x0) < 1e-5)
            let expected = x + (x - x0) * ((scheduler.schedule[i + 1] - sigma) / sigma)
            #expect(scaledError(output.prevSample, expected) < 1e-5)
        }
    }

    @Test("SDXL-Lightning 1-step (sample prediction, trailing) returns the model output after its one step")
    func lightningOneStep() throws {
        let scheduler = try SchedulerPreset.sdxlLightning1Step.makeScheduler()
        #expect(scheduler.timesteps == [999])
        #expect(scheduler.sigmas?.last == 0)
        let x = Self.latent(5) * scheduler.initNoiseSigma
        let predicted = Self.latent(6)
        let result = scheduler.step(modelOutput: predicted, stepIndex: 0, sample: x)
        #expect(scaledError(result, predicted) < 1e-6)
    }

    @Test("Euler-ancestral splits σ_{i+1}² into σ_up² + σ_down² and adds the injected noise times σ_up")
    func ancestral() throws {
        let scheduler = try SchedulerPreset.sdxlTurbo.makeScheduler(steps: 4)
        let ancestral = try #require(scheduler as? EulerAncestralDiscreteScheduler)
        let x = Self.latent(7) * 14
        let eps = Self.latent(8)
        let z = Self.latent(9)
        for i in 0..<3 {
            let (up, down) = ancestral.ancestralSigmas(atStep: i)
            let sigma = ancestral.schedule[i]
            let next = ancestral.schedule[i + 1]
            #expect(abs(up * up + down * down - next * next) <= 1e-5 * next * next)
            #expect(up > 0 && ancestral.needsNoise(atStep: i))
            let expected = x + eps * (down - sigma) + z * up
            #expect(scaledError(ancestral.step(modelOutput: eps, stepIndex: i, sample: x, noise: z), expected) < 1e-6)
        }
        // The last step goes to σ = 0: deterministic, and the same as plain Euler.
        #expect(!ancestral.needsNoise(atStep: 3))
        var euler = try EulerDiscreteScheduler(config: {
            var config = SchedulerPreset.sdxlBaseConfig
            config.timestepSpacing = "trailing"
            return config
        }())
        try euler.setTimesteps(4)
        #expect(euler.schedule == ancestral.schedule)
        let last = ancestral.step(modelOutput: eps, stepIndex: 3, sample: x)
        #expect(scaledError(last, euler.step(modelOutput: eps, stepIndex: 3, sample: x)) == 0)
    }

    @Test("DDIM (η = 0) with the exact ε moves a forward-process sample to the previous timestep's")
    func ddimExactNoise() throws {
        var config = DDIMSchedulerConfig()
        config.betaStart = 0.00085
        config.betaEnd = 0.012
        config.betaSchedule = "scaled_linear"
        config.clipSample = false
        config.timestepSpacing = "trailing"
        var scheduler = try DDIMScheduler(config: config)
        try scheduler.setTimesteps(4)
        #expect(scheduler.timesteps == [999, 749, 499, 249])
        #expect(scheduler.initNoiseSigma == 1)
        let x0 = Self.latent(10)
        let eps = Self.latent(11)
        for i in 0..<4 {
            let (alpha, previous) = scheduler.alphas(atStep: i)
            let x = x0 * alpha.squareRoot() + eps * (1 - alpha).squareRoot()
            #expect(scheduler.scaleModelInput(x, stepIndex: i) === x)
            let output = scheduler.stepOutput(modelOutput: eps, stepIndex: i, sample: x, noise: nil)
            #expect(scaledError(try #require(output.predictedOriginalSample), x0) < 1e-4)
            let expected = x0 * previous.squareRoot() + eps * (1 - previous).squareRoot()
            #expect(scaledError(output.prevSample, expected) < 1e-4)
        }
        // set_alpha_to_one: the last step lands on x̂₀ itself.
        #expect(scheduler.alphas(atStep: 3).previous == 1)
    }

    @Test("LCM picks 999, 759, 499, 259 for 4 steps, re-noises with the injected noise, and returns the estimate at the end")
    func lcm() throws {
        var config = LCMSchedulerConfig()
        config.setAlphaToOne = false
        config.stepsOffset = 1
        var scheduler = try LCMScheduler(config: config)
        try scheduler.setTimesteps(4)
        #expect(scheduler.timesteps == [999, 759, 499, 259])
        try scheduler.setTimesteps(8)
        #expect(scheduler.timesteps == [999, 879, 759, 639, 499, 379, 259, 139])
        try scheduler.setTimesteps(4)
        let (skip, out) = scheduler.boundaryConditionScalings(timestep: 999)
        #expect(skip < 1e-6 && abs(out - 1) < 1e-6)

        let x = Self.latent(12)
        let eps = Self.latent(13)
        let z = Self.latent(14)
        let alpha = scheduler.table.alphasCumprod[999]
        let next = scheduler.table.alphasCumprod[759]
        let output = scheduler.stepOutput(modelOutput: eps, stepIndex: 0, sample: x, noise: z)
        let x0 = (x - eps * (1 - alpha).squareRoot()) / alpha.squareRoot()
        let denoised = x0 * out + x * skip
        #expect(scaledError(try #require(output.predictedOriginalSample), denoised) < 1e-6)
        #expect(scaledError(output.prevSample, denoised * next.squareRoot() + z * (1 - next).squareRoot()) < 1e-6)
        #expect(scheduler.needsNoise(atStep: 0) && !scheduler.needsNoise(atStep: 3))
        let last = scheduler.stepOutput(modelOutput: eps, stepIndex: 3, sample: x, noise: nil)
        #expect(scaledError(last.prevSample, try #require(last.predictedOriginalSample)) == 0)
    }

    @Test("a flow-match step is x + (σ_{i+1} − σ_i)·v, and the exact velocity ε − x₀ integrates to x₀")
    func flowMatch() throws {
        let scheduler = try SchedulerPreset.fluxDev.makeScheduler(steps: 6, imageSequenceLength: 1024)
        let sigmas = try #require(scheduler.sigmas)
        let x0 = Tensor.randomNormal([1, 16, 64], seed: 15)
        let eps = Tensor.randomNormal([1, 16, 64], seed: 16)
        let v = eps - x0
        var x = eps * scheduler.initNoiseSigma
        for i in scheduler.timesteps.indices {
            let expected = x + v * (sigmas[i + 1] - sigmas[i])
            #expect(scheduler.scaleModelInput(x, stepIndex: i) === x)
            x = scheduler.step(modelOutput: v, stepIndex: i, sample: x)
            #expect(scaledError(x, expected) == 0)
            #expect(scaledError(x, x0 * (1 - sigmas[i + 1]) + eps * sigmas[i + 1]) < 1e-5)
        }
        #expect(scaledError(x, x0) < 1e-5)
    }

    @Test("a step is recorded on the autodiff tape: gradients reach the model output, the sample and the noise")
    func differentiable() throws {
        let scheduler = try SchedulerPreset.sdxlTurbo.makeScheduler(steps: 2)
        let ancestral = try #require(scheduler as? EulerAncestralDiscreteScheduler)
        let x = Self.latent(17, requiresGradient: true)
        let eps = Self.latent(18, requiresGradient: true)
        let z = Self.latent(19, requiresGradient: true)
        let result = ancestral.step(modelOutput: eps, stepIndex: 0, sample: x, noise: z)
        result.backward(seed: Tensor.ones(result.shape))
        let (up, down) = ancestral.ancestralSigmas(atStep: 0)
        let sigma = ancestral.schedule[0]
        // prev = x + ((x − (x − σε))/σ)(σ_down − σ) + σ_up·z: ∂/∂x = 1, ∂/∂ε = σ_down − σ, ∂/∂z = σ_up.
        let gradX = try #require(x.gradient).scalars()
        let gradEps = try #require(eps.gradient).scalars()
        let gradZ = try #require(z.gradient).scalars()
        #expect(gradX.allSatisfy { abs($0 - 1) < 1e-5 })
        #expect(gradEps.allSatisfy { abs($0 - (down - sigma)) < 1e-5 * abs(down - sigma) })
        #expect(gradZ.allSatisfy { abs($0 - up) < 1e-6 })
    }
}
