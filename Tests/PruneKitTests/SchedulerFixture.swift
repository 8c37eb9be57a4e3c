import Foundation
import PruneKit
import PruneTestSupport

/// `Tests/Fixtures/schedulers/schedulers.json` (diffusers' schedules and step outputs; see make_fixtures.py §4).
struct SchedulerFixture: Decodable, Sendable {
    /// The shared inputs of every step case: an 8-element sample and one model output per step.
    struct StepInputs: Decodable, Sendable {
        let sample: [Double]
        let modelOutputs: [[Double]]
        enum CodingKeys: String, CodingKey { case sample, modelOutputs = "model_outputs" }
    }

    /// One scheduler configuration with its schedule for each step count.
    struct ConfigEntry: Decodable, Sendable {
        let `class`: String
        let config: JSONValue
        let bySteps: [String: Schedule]
        let note: String?
        enum CodingKeys: String, CodingKey { case `class`, config, bySteps = "by_steps", note }
    }

    /// What diffusers stored after `set_timesteps`.
    struct Schedule: Decodable, Sendable {
        let timesteps: [Double]
        let sigmas: [Double]?
        let initNoiseSigma: Double?
        /// Flow matching: the raw sigmas passed to `set_timesteps(sigmas=…, mu=…)`, and `mu`.
        let sigmasPassed: [Double]?
        let mu: Double?
        /// DDIM / LCM: ᾱ at each timestep; DDIM: the previous timestep and its ᾱ.
        let alphasCumprodT: [Double]?
        let prevTimesteps: [Int]?
        let alphasCumprodPrev: [Double]?
        let finalAlphaCumprod: Double?
        enum CodingKeys: String, CodingKey {
            case timesteps, sigmas, initNoiseSigma = "init_noise_sigma", sigmasPassed = "sigmas_passed", mu
            case alphasCumprodT = "alphas_cumprod_t", prevTimesteps = "prev_timesteps"
            case alphasCumprodPrev = "alphas_cumprod_prev", finalAlphaCumprod = "final_alpha_cumprod"
        }
    }

    /// The first two steps of a 4-step schedule from the shared inputs.
    struct StepCase: Decodable, Sendable {
        struct SetTimestepsArguments: Decodable, Sendable {
            let sigmas: [Double]?
            let mu: Double?
        }
        struct Step: Decodable, Sendable {
            let index: Int
            let timestep: Double
            let sample: [Double]
            let modelOutput: [Double]
            let scaledModelInput: [Double]?
            let prevSample: [Double]
            let predOriginalSample: [Double]?
            let denoised: [Double]?
            /// The N(0, 1) vector diffusers drew inside this step (stochastic schedulers).
            let noise: [Double]?
            enum CodingKeys: String, CodingKey {
                case index, timestep, sample, modelOutput = "model_output", scaledModelInput = "scaled_model_input"
                case prevSample = "prev_sample", predOriginalSample = "pred_original_sample", denoised, noise
            }
        }
        let numInferenceSteps: Int
        let setTimestepsKwargs: SetTimestepsArguments
        let timesteps: [Double]
        let steps: [Step]
        /// The key of the configuration in ``SchedulerFixture/schedulers``.
        let config: String
        enum CodingKeys: String, CodingKey {
            case numInferenceSteps = "num_inference_steps", setTimestepsKwargs = "set_timesteps_kwargs"
            case timesteps, steps, config
        }
    }

    struct Tables: Decodable, Sendable {
        let betas: [Double]
        let alphasCumprod: [Double]
        enum CodingKeys: String, CodingKey { case betas, alphasCumprod = "alphas_cumprod" }
    }

    let stepInputs: StepInputs
    let schedulers: [String: ConfigEntry]
    let stepCases: [String: StepCase]
    let calculateShift: [String: Double]
    let tables: Tables

    enum CodingKeys: String, CodingKey {
        case stepInputs = "step_inputs", schedulers, stepCases = "step_cases"
        case calculateShift = "calculate_shift", tables
    }

    /// The parsed fixture (loaded once).
    static let shared: SchedulerFixture = {
        let path = Fixtures.path("schedulers/schedulers.json")
        do {
            return try JSONDecoder().decode(SchedulerFixture.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            fatalError("cannot read \(path): \(error)")
        }
    }()

    /// The configuration of entry `key` as a `scheduler_config.json` (its `config` plus `_class_name`),
    /// parsed by ``SchedulerConfiguration``.
    func configuration(_ key: String) throws -> SchedulerConfiguration {
        guard let entry = schedulers[key] else { throw FixtureError.malformed("no scheduler entry \(key)") }
        guard case .object(var fields) = entry.config else { throw FixtureError.malformed("\(key).config") }
        fields["_class_name"] = .string(entry.class)
        return try SchedulerConfiguration(json: JSONEncoder().encode(JSONValue.object(fields)))
    }
}

enum FixtureError: Error { case malformed(String) }

/// Any JSON value (the fixture's per-class configs are kept verbatim and re-encoded).
enum JSONValue: Codable, Sendable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n): try c.encode(n)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}
