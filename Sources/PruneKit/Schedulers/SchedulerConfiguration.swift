import Foundation

/// A whole `scheduler_config.json`: the scheduler class (`_class_name`) and its configuration.
///
/// Decoding reads `_class_name` and then that class's keys (unknown keys are ignored, absent ones take
/// diffusers' defaults); encoding writes them back with `_class_name`.
public enum SchedulerConfiguration: Sendable, Equatable, Codable {
    case eulerDiscrete(EulerDiscreteSchedulerConfig)
    case eulerAncestralDiscrete(EulerAncestralDiscreteSchedulerConfig)
    case ddim(DDIMSchedulerConfig)
    case lcm(LCMSchedulerConfig)
    case flowMatchEulerDiscrete(FlowMatchEulerDiscreteSchedulerConfig)

    /// The diffusers class names this enum can hold.
    public static let supportedClassNames = [
        EulerDiscreteScheduler.diffusersClassName, EulerAncestralDiscreteScheduler.diffusersClassName,
        DDIMScheduler.diffusersClassName, LCMScheduler.diffusersClassName,
        FlowMatchEulerDiscreteScheduler.diffusersClassName,
    ]

    /// The diffusers class (`_class_name`).
    public var className: String {
        switch self {
        case .eulerDiscrete: EulerDiscreteScheduler.diffusersClassName
        case .eulerAncestralDiscrete: EulerAncestralDiscreteScheduler.diffusersClassName
        case .ddim: DDIMScheduler.diffusersClassName
        case .lcm: LCMScheduler.diffusersClassName
        case .flowMatchEulerDiscrete: FlowMatchEulerDiscreteScheduler.diffusersClassName
        }
    }

    /// Builds the scheduler (validating the configuration). Its timesteps are not set yet.
    public func makeScheduler() throws(SchedulerError) -> any Scheduler {
        switch self {
        case .eulerDiscrete(let config): try EulerDiscreteScheduler(config: config)
        case .eulerAncestralDiscrete(let config): try EulerAncestralDiscreteScheduler(config: config)
        case .ddim(let config): try DDIMScheduler(config: config)
        case .lcm(let config): try LCMScheduler(config: config)
        case .flowMatchEulerDiscrete(let config): try FlowMatchEulerDiscreteScheduler(config: config)
        }
    }

    /// Parses `scheduler_config.json` contents.
    public init(json: Data) throws {
        self = try JSONDecoder().decode(Self.self, from: json)
    }

    /// Reads and parses a `scheduler_config.json` file.
    public init(contentsOf url: URL) throws {
        try self.init(json: Data(contentsOf: url))
    }

    /// The configuration as `scheduler_config.json` text (sorted keys).
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    private enum ClassKey: String, CodingKey { case className = "_class_name" }

    public init(from decoder: any Decoder) throws {
        let name = try decoder.container(keyedBy: ClassKey.self).decode(String.self, forKey: .className)
        switch name {
        case EulerDiscreteScheduler.diffusersClassName: self = .eulerDiscrete(try .init(from: decoder))
        case EulerAncestralDiscreteScheduler.diffusersClassName: self = .eulerAncestralDiscrete(try .init(from: decoder))
        case DDIMScheduler.diffusersClassName: self = .ddim(try .init(from: decoder))
        case LCMScheduler.diffusersClassName: self = .lcm(try .init(from: decoder))
        case FlowMatchEulerDiscreteScheduler.diffusersClassName: self = .flowMatchEulerDiscrete(try .init(from: decoder))
        default: throw SchedulerError.unknownSchedulerClass(name)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: ClassKey.self)
        try container.encode(className, forKey: .className)
        switch self {
        case .eulerDiscrete(let config): try config.encode(to: encoder)
        case .eulerAncestralDiscrete(let config): try config.encode(to: encoder)
        case .ddim(let config): try config.encode(to: encoder)
        case .lcm(let config): try config.encode(to: encoder)
        case .flowMatchEulerDiscrete(let config): try config.encode(to: encoder)
        }
    }
}
