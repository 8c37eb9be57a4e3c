import PruneKit
import Testing

/// The named model presets the adapters and the CLI use.
@Suite struct SchedulerPresetTests {
    @Test("every preset builds its scheduler with the pipeline's timesteps at its default step count",
          arguments: SchedulerPreset.allCases)
    func builds(_ preset: SchedulerPreset) throws {
        let scheduler = try preset.makeScheduler(imageSequenceLength: 4096)
        #expect(scheduler.timesteps.count == preset.defaultSteps)
        #expect(scheduler.diffusersClassName == preset.configuration.className)
        #expect(preset.supportedSteps?.contains(preset.defaultSteps) ?? true)
        #expect(try SchedulerPreset(name: preset.rawValue) == preset)
    }

    @Test("presets are found by name regardless of case and underscores; unknown names list the known ones")
    func names() throws {
        #expect(try SchedulerPreset(name: "FLUX_dev") == .fluxDev)
        #expect(try SchedulerPreset(name: "sdxl-turbo") == .sdxlTurbo)
        let error = #expect(throws: SchedulerError.self) { try SchedulerPreset(name: "sd15") }
        #expect(error?.description.contains("sdxl-base") == true)
    }

    @Test("each preset has its model's scheduler class, spacing and shift")
    func configurations() throws {
        guard case .eulerDiscrete(let base) = SchedulerPreset.sdxlBase.configuration,
            case .eulerAncestralDiscrete(let turbo) = SchedulerPreset.sdxlTurbo.configuration,
            case .eulerDiscrete(let lightning) = SchedulerPreset.sdxlLightning.configuration,
            case .flowMatchEulerDiscrete(let dev) = SchedulerPreset.fluxDev.configuration,
            case .flowMatchEulerDiscrete(let schnell) = SchedulerPreset.fluxSchnell.configuration
        else {
            Issue.record("unexpected scheduler classes")
            return
        }
        #expect(base.timestepSpacing == "leading" && base.stepsOffset == 1 && base.betaSchedule == "scaled_linear")
        #expect(turbo.timestepSpacing == "trailing" && turbo.betaStart == 0.00085 && turbo.betaEnd == 0.012)
        #expect(lightning.timestepSpacing == "trailing" && lightning.predictionType == "epsilon")
        #expect(dev.useDynamicShifting && dev.baseShift == 0.5 && dev.maxShift == 1.15)
        #expect(dev.baseImageSeqLen == 256 && dev.maxImageSeqLen == 4096 && dev.shift == 3)
        #expect(!schnell.useDynamicShifting && schnell.shift == 1)
    }

    @Test("distilled presets use their step counts: Turbo 1 step at 999, Lightning 4 steps at 999, 749, 499, 249")
    func distilled() throws {
        let turbo = try SchedulerPreset.sdxlTurbo.makeScheduler()
        #expect(turbo.timesteps == [999])
        #expect(turbo.sigmas?.last == 0 && turbo.initNoiseSigma == turbo.sigmas?.first)
        #expect(!turbo.needsNoise(atStep: 0))
        let lightning = try SchedulerPreset.sdxlLightning.makeScheduler()
        #expect(lightning.timesteps == [999, 749, 499, 249])
        #expect(SchedulerPreset.sdxlLightning.supportedSteps == [2, 4, 8])
    }

    @Test("FLUX.1-dev needs the image sequence length for its shift; schnell does not")
    func fluxSequenceLength() throws {
        #expect(throws: SchedulerError.missingMu) { try SchedulerPreset.fluxDev.makeScheduler() }
        let schnell = try SchedulerPreset.fluxSchnell.makeScheduler()
        #expect(schnell.sigmas == [1, 0.75, 0.5, 0.25, 0])
    }
}
