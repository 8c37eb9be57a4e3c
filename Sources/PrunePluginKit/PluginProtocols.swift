import CPrunePlugin

/// A pruning criterion written in Swift: one score per unit, higher = more important to keep.
public protocol CriterionPlugin: AnyObject {
    /// The name `prunekit prune --criterion` selects.
    var name: String { get }
    /// One line.
    var summary: String { get }
    /// Whether it reads calibration trajectories.
    var needsCalibration: Bool { get }
    /// Whether it passes everything it sums over samples through ``ScoringContextView/sumOverRanks(_:)``, so
    /// it may run data-parallel (PRUNE_CRITERION_DATA_PARALLEL; false unless it says so).
    var supportsDataParallelism: Bool { get }
    /// Scores for every unit, group after group in `context.groups()` order.
    func scores(in context: ScoringContextView) throws -> [Float]
}

extension CriterionPlugin {
    public var supportsDataParallelism: Bool { false }
}

/// A named configuration of an architecture plugin and its default trajectory.
public struct ArchitecturePreset: Sendable {
    public var name: String
    public var summary: String
    /// The configuration as a JSON object (the `config.json` of its exports).
    public var configurationJSON: String
    public var steps: Int
    public var guidanceScale: Float
    public var height: Int
    public var width: Int

    public init(name: String, summary: String, configurationJSON: String, steps: Int, guidanceScale: Float = 1, height: Int, width: Int) {
        self.name = name
        self.summary = summary
        self.configurationJSON = configurationJSON
        self.steps = steps
        self.guidanceScale = guidanceScale
        self.height = height
        self.width = width
    }
}

/// An architecture written in Swift: how to build a model (parameters and units) through the host,
/// and its schedule.
public protocol ArchitecturePlugin: AnyObject {
    var name: String { get }
    var summary: String { get }
    /// The `config.json` `_class_name` values it loads.
    var classNames: [String] { get }
    var presets: [ArchitecturePreset] { get }
    /// A diffusers `scheduler_config.json` or a PruneKit scheduler preset name.
    var schedulerJSON: String { get }
    /// Forward input names (diffusers argument names).
    var inputNames: [String] { get }
    /// Conditioning tensors of one prompt and their `[1, …]` shapes.
    var conditioning: [(name: String, shape: [Int])] { get }
    /// Latent channels: latents are `[1, C, height/8, width/8]`.
    var latentChannels: Int { get }
    /// Builds a model through `builder` (config values, parameters, unit groups).
    func buildModel(_ builder: ModelBuilderView) throws -> any PluginModelInstance
}

/// One built model of an architecture plugin.
public protocol PluginModelInstance: AnyObject {
    /// The raw denoiser on the call's named inputs, with its masks.
    func forward(_ call: ForwardCallView) throws -> HostTensor
    /// What the scheduler consumes (guidance applied, extra channels dropped); `forward` by default.
    func predict(_ call: ForwardCallView) throws -> HostTensor
}

extension PluginModelInstance {
    public func predict(_ call: ForwardCallView) throws -> HostTensor { try forward(call) }
}

/// An optional entry point the plugin declares (see `prune_hook`): the symbol must be exported with
/// `@_cdecl` and have the signature written here.
public struct PluginHookDeclaration: Sendable {
    public var role: String
    public var symbol: String
    public var signature: String

    public init(role: String, symbol: String, signature: String) {
        self.role = role
        self.symbol = symbol
        self.signature = signature
    }
}
