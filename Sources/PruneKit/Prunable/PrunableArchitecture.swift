/// A family of prunable models: how to load one from a model directory and how to build one from a
/// named configuration with seeded random weights (bench configs, or a real configuration to measure).
///
/// Built-in architectures (SDXL, FLUX) and plugin architectures register with ``ArchitectureRegistry``;
/// the command line then loads `--model DIR` by its `config.json` `_class_name` and `--preset NAME` by
/// preset name.
public protocol PrunableArchitecture: Sendable {
    /// A short stable name (`sdxl`, `flux`, or a plugin's).
    var name: String { get }
    /// One line describing the architecture.
    var summary: String { get }
    /// The `config.json` `_class_name` values ``load(directory:)`` reads.
    var classNames: [String] { get }
    /// The named configurations ``makeModel(preset:seed:)`` builds.
    var presets: [ModelPresetDescriptor] { get }

    /// Loads a model directory (`config.json` and its weights); pruned exports load with their pruned widths.
    /// - Throws: the loader's error, naming the file and key.
    func load(directory: String) throws -> any PrunableModel
    /// Builds the preset's model with weights drawn from `seed`.
    /// - Throws: ``ArchitectureRegistryError/unknownPreset(name:known:)`` for a preset this architecture lacks.
    func makeModel(preset: String, seed: UInt64) throws -> any PrunableModel
    /// Counts the preset's parameters and units from its configuration alone (no weights are allocated); by
    /// default from ``layout(preset:)``.
    func accounting(preset: String) throws -> ModelAccounting
    /// The preset's unit groups and parameter shapes (for counting a pruned model and checking masks files).
    /// The default builds the model with seeded weights; built-in architectures allocate none.
    func layout(preset: String) throws -> ModelLayout
}

/// A named model configuration and the trajectory it is sampled with.
public struct ModelPresetDescriptor: Sendable, Equatable {
    /// The preset's name (`sdxl-base`, `flux-bench`, …).
    public var name: String
    /// One line describing it.
    public var summary: String
    /// Its default schedule, steps, guidance and image size.
    public var trajectory: TrajectorySettings

    public init(name: String, summary: String, trajectory: TrajectorySettings) {
        self.name = name
        self.summary = summary
        self.trajectory = trajectory
    }
}
