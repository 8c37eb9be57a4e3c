import Foundation
import PruneKit
import Testing

/// `scheduler_config.json` decoding, defaults, round-tripping and the errors for unsupported values.
@Suite struct SchedulerConfigTests {
    /// The SDXL base file as published (keys for other classes included).
    static let sdxlBaseJSON = """
        {
          "_class_name": "EulerDiscreteScheduler",
          "_diffusers_version": "0.19.0.dev0",
          "beta_end": 0.012,
          "beta_schedule": "scaled_linear",
          "beta_start": 0.00085,
          "clip_sample": false,
          "interpolation_type": "linear",
          "num_train_timesteps": 1000,
          "prediction_type": "epsilon",
          "sample_max_value": 1.0,
          "set_alpha_to_one": false,
          "skip_prk_steps": true,
          "steps_offset": 1,
          "timestep_spacing": "leading",
          "trained_betas": null,
          "use_karras_sigmas": false
        }
        """

    static func parse(_ json: String) throws -> SchedulerConfiguration {
        try SchedulerConfiguration(json: Data(json.utf8))
    }

    @Test("the SDXL base scheduler_config.json decodes to the sdxl-base preset, ignoring other classes' keys")
    func sdxlBaseFile() throws {
        let configuration = try Self.parse(Self.sdxlBaseJSON)
        #expect(configuration == SchedulerPreset.sdxlBase.configuration)
        #expect(configuration.className == "EulerDiscreteScheduler")
        #expect(try configuration.makeScheduler() is EulerDiscreteScheduler)
    }

    @Test("absent keys take each class's own diffusers defaults")
    func defaults() throws {
        guard case .eulerDiscrete(let euler) = try Self.parse(#"{"_class_name": "EulerDiscreteScheduler"}"#),
            case .ddim(let ddim) = try Self.parse(#"{"_class_name": "DDIMScheduler"}"#),
            case .lcm(let lcm) = try Self.parse(#"{"_class_name": "LCMScheduler"}"#),
            case .flowMatchEulerDiscrete(let flow) = try Self.parse(
                #"{"_class_name": "FlowMatchEulerDiscreteScheduler", "base_shift": null}"#)
        else {
            Issue.record("wrong classes decoded")
            return
        }
        #expect(euler == EulerDiscreteSchedulerConfig())
        #expect(euler.betaSchedule == "linear" && euler.timestepSpacing == "linspace" && euler.stepsOffset == 0)
        #expect(ddim.clipSample && ddim.setAlphaToOne && ddim.timestepSpacing == "leading")
        #expect(lcm.betaSchedule == "scaled_linear" && lcm.originalInferenceSteps == 50 && lcm.timestepScaling == 10)
        #expect(flow.shift == 1 && !flow.useDynamicShifting && flow.baseShift == 0.5 && flow.maxImageSeqLen == 4096)
    }

    @Test("every preset's configuration survives encoding to JSON and decoding back", arguments: SchedulerPreset.allCases)
    func roundTrip(_ preset: SchedulerPreset) throws {
        let json = try preset.configuration.jsonData()
        let text = try #require(String(data: json, encoding: .utf8))
        #expect(text.contains("\"_class_name\""))
        #expect(text.contains("\"num_train_timesteps\""))
        #expect(try SchedulerConfiguration(json: json) == preset.configuration)
    }

    /// A configuration with one unsupported value, and the key the error must name.
    struct Unsupported: Sendable, CustomTestStringConvertible {
        let className: String
        let key: String
        let value: String
        var testDescription: String { "\(className).\(key) = \(value)" }
        var json: String { #"{"_class_name": "\#(className)", "\#(key)": \#(value)}"# }
    }

    static let unsupported: [Unsupported] = [
        .init(className: "EulerDiscreteScheduler", key: "use_karras_sigmas", value: "true"),
        .init(className: "EulerDiscreteScheduler", key: "use_exponential_sigmas", value: "true"),
        .init(className: "EulerDiscreteScheduler", key: "use_beta_sigmas", value: "true"),
        .init(className: "EulerDiscreteScheduler", key: "interpolation_type", value: #""log_linear""#),
        .init(className: "EulerDiscreteScheduler", key: "timestep_type", value: #""continuous""#),
        .init(className: "EulerDiscreteScheduler", key: "final_sigmas_type", value: #""sigma_max""#),
        .init(className: "EulerDiscreteScheduler", key: "timestep_spacing", value: #""quadratic""#),
        .init(className: "EulerDiscreteScheduler", key: "prediction_type", value: #""flow""#),
        .init(className: "EulerDiscreteScheduler", key: "beta_schedule", value: #""squaredcos_cap_v2""#),
        .init(className: "EulerDiscreteScheduler", key: "rescale_betas_zero_snr", value: "true"),
        .init(className: "EulerAncestralDiscreteScheduler", key: "prediction_type", value: #""sample""#),
        .init(className: "DDIMScheduler", key: "thresholding", value: "true"),
        .init(className: "LCMScheduler", key: "thresholding", value: "true"),
        .init(className: "FlowMatchEulerDiscreteScheduler", key: "shift_terminal", value: "0.02"),
        .init(className: "FlowMatchEulerDiscreteScheduler", key: "invert_sigmas", value: "true"),
        .init(className: "FlowMatchEulerDiscreteScheduler", key: "stochastic_sampling", value: "true"),
        .init(className: "FlowMatchEulerDiscreteScheduler", key: "use_karras_sigmas", value: "true"),
        .init(className: "FlowMatchEulerDiscreteScheduler", key: "time_shift_type", value: #""cosine""#),
    ]

    @Test("an unsupported option throws SchedulerError.unsupportedOption naming the key", arguments: unsupported)
    func unsupportedOption(_ test: Unsupported) throws {
        let configuration = try Self.parse(test.json)
        let error = #expect(throws: SchedulerError.self) { try configuration.makeScheduler() }
        guard case .unsupportedOption(let key, _, let supported) = error else {
            Issue.record("expected unsupportedOption, got \(String(describing: error))")
            return
        }
        #expect(key == test.key)
        #expect(!supported.isEmpty)
        #expect(error?.description.contains("'\(test.key)'") == true)
    }

    @Test("an unknown _class_name is rejected with the name")
    func unknownClass() {
        #expect(throws: SchedulerError.unknownSchedulerClass("DPMSolverMultistepScheduler")) {
            try Self.parse(#"{"_class_name": "DPMSolverMultistepScheduler"}"#)
        }
    }

    @Test("zero inference steps is an error for every scheduler", arguments: SchedulerConfiguration.supportedClassNames)
    func zeroSteps(_ className: String) throws {
        var scheduler = try Self.parse(#"{"_class_name": "\#(className)"}"#).makeScheduler()
        let error = #expect(throws: SchedulerError.self) { try scheduler.setTimesteps(0, mu: 1) }
        guard case .invalidStepCount(0, _) = error else {
            Issue.record("expected invalidStepCount(0), got \(String(describing: error))")
            return
        }
        if var flow = scheduler as? FlowMatchEulerDiscreteScheduler {
            #expect(throws: SchedulerError.self) { try flow.setTimesteps(sigmas: []) }
            #expect(throws: SchedulerError.self) { try flow.setPipelineTimesteps(0, imageSequenceLength: 4096) }
        }
    }

    @Test("step counts the schedule cannot provide are errors: DDIM above T, LCM above original_inference_steps")
    func tooManySteps() throws {
        var ddim = try DDIMScheduler(config: DDIMSchedulerConfig())
        #expect(throws: SchedulerError.self) { try ddim.setTimesteps(1001) }
        var lcm = try LCMScheduler(config: LCMSchedulerConfig())
        try lcm.setTimesteps(50)
        #expect(lcm.timesteps.count == 50)
        #expect(throws: SchedulerError.self) { try lcm.setTimesteps(51) }
    }

    @Test("dynamic shifting without mu throws missingMu; a static shift ignores mu")
    func missingMu() throws {
        guard case .flowMatchEulerDiscrete(let dev) = SchedulerPreset.fluxDev.configuration,
            case .flowMatchEulerDiscrete(let schnell) = SchedulerPreset.fluxSchnell.configuration
        else {
            Issue.record("FLUX presets are not flow matching")
            return
        }
        var scheduler = try FlowMatchEulerDiscreteScheduler(config: dev)
        #expect(throws: SchedulerError.missingMu) { try scheduler.setTimesteps(4) }
        #expect(throws: SchedulerError.missingMu) { try scheduler.setTimesteps(sigmas: [1, 0.5]) }
        var fixed = try FlowMatchEulerDiscreteScheduler(config: schnell)
        try fixed.setTimesteps(sigmas: [1, 0.5], mu: 3)
        #expect(fixed.schedule == [1, 0.5, 0])
    }
}
