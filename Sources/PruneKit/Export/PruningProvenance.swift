/// How a pruned model came about, recorded in its `prunekit.json`.
public struct PruningProvenance: Sendable, Equatable {
    /// The criterion that chose the units (e.g. `ecodiff`, `magnitude`, `random`).
    public var criterion: String?
    /// The requested pruning ratio or budget, as the criterion took it.
    public var target: Double?
    /// The random seed of the run.
    public var seed: UInt64?
    /// The diffusers model directory the weights were loaded from: its `config.json` is copied into the
    /// export and its weight files are fingerprinted. `nil` for models built in memory.
    public var sourceDirectory: String?

    public init(criterion: String? = nil, target: Double? = nil, seed: UInt64? = nil, sourceDirectory: String? = nil) {
        self.criterion = criterion
        self.target = target
        self.seed = seed
        self.sourceDirectory = sourceDirectory
    }
}
