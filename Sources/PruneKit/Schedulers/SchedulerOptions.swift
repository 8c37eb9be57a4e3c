/// What the denoiser predicts (`prediction_type` in `scheduler_config.json`).
public enum PredictionType: String, Sendable, CaseIterable {
    /// The added noise ε.
    case epsilon
    /// The velocity `v = √ᾱ·ε − √(1−ᾱ)·x₀`.
    case vPrediction = "v_prediction"
    /// The clean sample x₀ (SDXL-Lightning 1-step). diffusers' Euler also accepts `original_sample`.
    case sample
}

/// How discrete schedulers place `n` timesteps on the 1000 training steps (`timestep_spacing`;
/// Table 2 of "Common Diffusion Noise Schedules and Sample Steps Are Flawed").
public enum TimestepSpacing: String, Sendable, CaseIterable {
    /// `round(arange(n) · (T // n))[::-1] + steps_offset`.
    case leading
    /// `round(arange(T, 0, −T/n)) − 1`.
    case trailing
    /// `linspace(0, T − 1, n)[::-1]`.
    case linspace
}

/// Parsing of `scheduler_config.json` string and flag values into supported options.
enum ConfigOption {
    /// The case of `E` spelled `value`, or an error naming `key` and listing the `supported` spellings.
    static func parse<E: RawRepresentable & CaseIterable>(
        _ value: String, key: String, as type: E.Type, supported: [E]? = nil
    ) throws(SchedulerError) -> E where E.RawValue == String {
        let allowed = supported ?? Array(E.allCases)
        guard let parsed = E(rawValue: value), allowed.contains(where: { $0.rawValue == parsed.rawValue }) else {
            throw .unsupportedOption(key: key, value: "\"\(value)\"", supported: allowed.map { "\"\($0.rawValue)\"" })
        }
        return parsed
    }

    /// Throws unless `flag` equals `supported`.
    static func require(_ flag: Bool, key: String, equals supported: Bool) throws(SchedulerError) {
        guard flag == supported else {
            throw .unsupportedOption(key: key, value: "\(flag)", supported: ["\(supported)"])
        }
    }

    /// Throws unless `value` is one of `supported`.
    static func require(_ value: String, key: String, in supported: [String]) throws(SchedulerError) {
        guard supported.contains(value) else {
            throw .unsupportedOption(key: key, value: "\"\(value)\"", supported: supported.map { "\"\($0)\"" })
        }
    }

    /// Throws unless `value > 0`.
    static func requirePositive(_ value: Int, key: String) throws(SchedulerError) {
        guard value > 0 else { throw .invalidOption(key: key, value: "\(value)", reason: "must be positive") }
    }
}

extension KeyedDecodingContainer {
    /// The value at `key`, or `fallback` when the key is absent or `null` (diffusers' constructor defaults).
    func value<T: Decodable>(_ key: Key, default fallback: T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? fallback
    }
}
