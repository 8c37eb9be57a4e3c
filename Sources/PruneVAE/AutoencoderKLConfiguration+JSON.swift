import Foundation

extension AutoencoderKLConfiguration {
    /// Reads and validates diffusers' `config.json` for an `AutoencoderKL`.
    /// - Throws: ``VAEError/unreadableConfiguration(path:reason:)`` or
    ///   ``VAEError/invalidConfiguration(source:key:reason:)``.
    public init(contentsOf path: String) throws(VAEError) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadableConfiguration(path: path, reason: error.localizedDescription)
        }
        try self.init(json: data, source: path)
    }

    /// Decodes and validates `config.json` bytes; `source` names them in errors.
    ///
    /// Keys diffusers records but the model does not use (`_class_name`, `_diffusers_version`, …) are ignored;
    /// a `_class_name` other than `AutoencoderKL` is an error. Absent keys take diffusers' defaults.
    /// - Throws: ``VAEError/unreadableConfiguration(path:reason:)`` or
    ///   ``VAEError/invalidConfiguration(source:key:reason:)``.
    public init(json data: Data, source: String) throws(VAEError) {
        let object: [String: ConfigurationValue]
        do { object = try JSONDecoder().decode([String: ConfigurationValue].self, from: data) } catch {
            throw .unreadableConfiguration(path: source, reason: "not a JSON object (\(error))")
        }
        let reader = ConfigurationReader(object: object, source: source)
        self.init()
        if let className = try reader.string("_class_name"), className != "AutoencoderKL" {
            throw .invalidConfiguration(source: source, key: "_class_name", reason: "must be \"AutoencoderKL\", found \"\(className)\"")
        }
        inChannels = try reader.int("in_channels") ?? inChannels
        outChannels = try reader.int("out_channels") ?? outChannels
        downBlockTypes = try reader.strings("down_block_types") ?? downBlockTypes
        upBlockTypes = try reader.strings("up_block_types") ?? upBlockTypes
        blockOutChannels = try reader.ints("block_out_channels") ?? blockOutChannels
        layersPerBlock = try reader.int("layers_per_block") ?? layersPerBlock
        activation = try reader.string("act_fn") ?? activation
        latentChannels = try reader.int("latent_channels") ?? latentChannels
        normNumGroups = try reader.int("norm_num_groups") ?? normNumGroups
        if let size = try reader.int("sample_size", allowingListHead: true) { sampleSize = size }
        scalingFactor = try reader.number("scaling_factor") ?? scalingFactor
        shiftFactor = try reader.number("shift_factor")
        latentsMean = try reader.numbers("latents_mean")
        latentsStandardDeviation = try reader.numbers("latents_std")
        forceUpcast = try reader.bool("force_upcast") ?? forceUpcast
        useQuantConvolution = try reader.bool("use_quant_conv") ?? useQuantConvolution
        usePostQuantConvolution = try reader.bool("use_post_quant_conv") ?? usePostQuantConvolution
        midBlockAddAttention = try reader.bool("mid_block_add_attention") ?? midBlockAddAttention
        try validate(source: source)
    }
}

/// One JSON value of `config.json`.
private enum ConfigurationValue: Decodable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case list([ConfigurationValue])
    case object

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([ConfigurationValue].self) {
            self = .list(value)
        } else {
            _ = try container.decode([String: ConfigurationValue].self)
            self = .object
        }
    }

    var description: String {
        switch self {
        case .null: "null"
        case .bool(let value): "\(value)"
        case .number(let value): "\(value)"
        case .string(let value): "\"\(value)\""
        case .list(let values): "[" + values.map(\.description).joined(separator: ", ") + "]"
        case .object: "an object"
        }
    }

    var number: Double? { if case .number(let value) = self { value } else { nil } }
    var integer: Int? {
        guard let value = number, value.rounded() == value, abs(value) < 1e15 else { return nil }
        return Int(value)
    }
    var text: String? { if case .string(let value) = self { value } else { nil } }
}

/// Typed reads of one JSON object's values; `nil` for an absent key or JSON `null`.
private struct ConfigurationReader {
    let object: [String: ConfigurationValue]
    let source: String

    private func value(_ key: String) -> ConfigurationValue? {
        guard let value = object[key] else { return nil }
        if case .null = value { return nil }
        return value
    }

    private func fail(_ key: String, _ expected: String, _ value: ConfigurationValue) -> VAEError {
        .invalidConfiguration(source: source, key: key, reason: "must be \(expected), found \(value)")
    }

    func int(_ key: String, allowingListHead: Bool = false) throws(VAEError) -> Int? {
        guard let value = value(key) else { return nil }
        if allowingListHead, case .list(let list) = value, let head = list.first?.integer { return head }
        guard let result = value.integer else { throw fail(key, "an integer", value) }
        return result
    }

    func ints(_ key: String) throws(VAEError) -> [Int]? {
        guard let value = value(key) else { return nil }
        guard case .list(let list) = value else { throw fail(key, "a list of integers", value) }
        let result = list.compactMap(\.integer)
        guard result.count == list.count else { throw fail(key, "a list of integers", value) }
        return result
    }

    func number(_ key: String) throws(VAEError) -> Double? {
        guard let value = value(key) else { return nil }
        guard let result = value.number else { throw fail(key, "a number", value) }
        return result
    }

    func numbers(_ key: String) throws(VAEError) -> [Double]? {
        guard let value = value(key) else { return nil }
        guard case .list(let list) = value else { throw fail(key, "a list of numbers or null", value) }
        let result = list.compactMap(\.number)
        guard result.count == list.count else { throw fail(key, "a list of numbers or null", value) }
        return result
    }

    func string(_ key: String) throws(VAEError) -> String? {
        guard let value = value(key) else { return nil }
        guard let result = value.text else { throw fail(key, "a string", value) }
        return result
    }

    func strings(_ key: String) throws(VAEError) -> [String]? {
        guard let value = value(key) else { return nil }
        guard case .list(let list) = value else { throw fail(key, "a list of strings", value) }
        let result = list.compactMap(\.text)
        guard result.count == list.count else { throw fail(key, "a list of strings", value) }
        return result
    }

    func bool(_ key: String) throws(VAEError) -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .bool(let result) = value else { throw fail(key, "true or false", value) }
        return result
    }
}
