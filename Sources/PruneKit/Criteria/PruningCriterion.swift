import PruneNN
import PruneTensor

/// A way of scoring every maskable unit of a model: higher scores mean more important to keep.
///
/// A criterion is looked up by its stable ``name`` in a ``CriterionRegistry`` and run on a
/// ``ScoringContext``; a ``PruningPlan`` then binarises the ``UnitScores`` into a ``UnitSelection``.
///
/// ```swift
/// let criterion = try CriterionRegistry.shared.criterion(named: "magnitude")
/// let scores = try criterion.scores(in: ScoringContext(groups: unet.unitGroups, parameters: store.parameters))
/// ```
public protocol PruningCriterion: Sendable {
    /// The stable name the registry and the command line know the criterion by (`magnitude`, `taylor`, …).
    var name: String { get }
    /// One line saying what the criterion computes.
    var summary: String { get }
    /// Whether ``scores(in:)`` reads calibration trajectories (callers may skip building them when not).
    var requiresCalibration: Bool { get }
    /// Whether ``scores(in:)`` learns masks with ``MaskTrainer`` and so honours ``ScoringContext/training``'s
    /// snapshots and resume (callers claim a checkpoint file only then).
    var trainsMasks: Bool { get }
    /// Whether ``scores(in:)`` gives the same scores when ``ScoringContext/calibration`` holds one rank's shard
    /// of the prompts (``ScoringContext/shard``): it sums what it gathers over the ranks
    /// (``ScoringContext/sumOverRanks(_:)``, ``MaskTrainer/train(_:shard:fromEpoch:prompt:onPrompt:)``).
    var supportsDataParallelism: Bool { get }
    /// How a plan ranks this criterion's scores unless the caller says otherwise: ``PruningPlan/Scope/global``
    /// (per unit kind) unless the scores mean the same in every kind (``PruningPlan/Scope/joint``).
    var defaultScope: PruningPlan.Scope { get }
    /// One score per unit of every group of `context.groups`, keyed by module key.
    /// - Throws: ``CriterionError`` (missing parameters or calibration data), trajectory errors.
    func scores(in context: ScoringContext) throws -> UnitScores
}

extension PruningCriterion {
    /// Criteria need calibration unless they say otherwise.
    public var requiresCalibration: Bool { true }
    /// Criteria learn no masks unless they say otherwise.
    public var trainsMasks: Bool { false }
    /// Data-free criteria read no prompts, so shards change nothing; calibrating ones must say they sum.
    public var supportsDataParallelism: Bool { !requiresCalibration }
    /// Scores are ranked within each unit kind unless the criterion says otherwise.
    public var defaultScope: PruningPlan.Scope { .global }
}

/// Scores per module key, `[unitCount]` each; higher = more important to keep.
public struct UnitScores: Sendable, Equatable, Codable {
    /// Scores by module key, one per unit.
    public var byModule: [String: [Float]]

    public init(_ byModule: [String: [Float]] = [:]) { self.byModule = byModule }

    public subscript(module: String) -> [Float]? {
        get { byModule[module] }
        set { byModule[module] = newValue }
    }

    /// Throws unless every group has exactly `unitCount` scores.
    /// - Throws: ``CriterionError/scoreShape(module:expected:actual:)``.
    public func validate(against groups: [UnitGroup]) throws(CriterionError) {
        for group in groups {
            let count = byModule[group.moduleKey]?.count ?? 0
            guard count == group.unitCount else {
                throw .scoreShape(module: group.moduleKey, expected: group.unitCount, actual: count)
            }
        }
    }
}

/// How far a criterion has got: `completed` of `total` work items (`total` may be 0 when unknown).
public struct ScoringProgress: Sendable {
    public var criterion: String
    public var completed: Int
    public var total: Int
    public var message: String

    public init(criterion: String, completed: Int, total: Int, message: String) {
        self.criterion = criterion
        self.completed = completed
        self.total = total
        self.message = message
    }
}

/// A type-erased ``DenoisingTrajectory``, so calibration samples of any architecture fit one context.
public struct AnyDenoisingTrajectory: DenoisingTrajectory {
    public let stepCount: Int
    private let makeInitialLatents: (Tensor) -> Tensor
    private let makeStep: (Tensor, Int, UnitMasks) throws -> Tensor

    public init<Trajectory: DenoisingTrajectory>(_ trajectory: Trajectory) {
        stepCount = trajectory.stepCount
        makeInitialLatents = { trajectory.initialLatents(noise: $0) }
        makeStep = { try trajectory.step($0, index: $1, masks: $2) }
    }

    public func initialLatents(noise: Tensor) -> Tensor { makeInitialLatents(noise) }
    public func step(_ latents: Tensor, index: Int, masks: UnitMasks) throws -> Tensor {
        try makeStep(latents, index, masks)
    }
}

extension CalibrationSample {
    /// The same sample over a type-erased trajectory.
    public var erased: CalibrationSample<AnyDenoisingTrajectory> {
        CalibrationSample<AnyDenoisingTrajectory>(trajectory: AnyDenoisingTrajectory(trajectory), noise: noise, target: target)
    }
}

/// Everything a criterion may look at: the units, the weights, optional calibration trajectories, the model
/// itself when the caller has one, a seed, how to train masks, and a progress callback.
public struct ScoringContext {
    /// The model's maskable units, in model order.
    public var groups: [UnitGroup]
    /// Parameters by checkpoint key (`ParameterStore.parameters`).
    public var parameters: [String: Tensor]
    /// Parameter shapes by checkpoint key (defaults to the shapes of ``parameters``).
    public var shapes: [String: [Int]]
    /// Calibration prompts (trajectory, initial noise, unmasked target); empty for data-free criteria.
    public var calibration: [CalibrationSample<AnyDenoisingTrajectory>]
    /// Seed for any randomness a criterion uses.
    public var seed: UInt64
    /// Called as a criterion makes progress.
    public var progress: (ScoringProgress) -> Void
    /// The model being scored, when the caller has it (its forward, trajectories and ``PrunableModel/ecoDiffSettings``);
    /// `nil` for contexts built from units and weights alone.
    public var model: (any PrunableModel)?
    /// How a criterion that learns masks trains: epochs, learning rate, β, snapshots, resume, per-iteration callback.
    public var training: MaskTrainingOptions
    /// With data parallelism: the process group and the number of prompts over all ranks, ``calibration`` holding
    /// this rank's (``CalibrationShard/ownedPrompts``); `nil`: one process holds every prompt.
    public var shard: CalibrationShard?

    /// ``shard``, or one process holding ``calibration``.
    public var calibrationShard: CalibrationShard { shard ?? .single(promptCount: calibration.count) }

    public init(
        groups: [UnitGroup], parameters: [String: Tensor], shapes: [String: [Int]]? = nil,
        calibration: [CalibrationSample<AnyDenoisingTrajectory>] = [], seed: UInt64 = 0,
        model: (any PrunableModel)? = nil, training: MaskTrainingOptions = MaskTrainingOptions(),
        progress: @escaping (ScoringProgress) -> Void = { _ in }
    ) {
        self.groups = groups
        self.parameters = parameters
        self.shapes = shapes ?? parameters.mapValues(\.shape)
        self.calibration = calibration
        self.seed = seed
        self.model = model
        self.training = training
        self.progress = progress
    }

    /// A context for `model`: its units and weights, the model itself, and `calibration`.
    public init(
        model: any PrunableModel, calibration: [CalibrationSample<AnyDenoisingTrajectory>] = [], seed: UInt64 = 0,
        training: MaskTrainingOptions = MaskTrainingOptions(), progress: @escaping (ScoringProgress) -> Void = { _ in }
    ) {
        self.init(
            groups: model.unitGroups, parameters: model.parameters.parameters, calibration: calibration, seed: seed, model: model,
            training: training, progress: progress)
    }

    /// A context whose calibration samples share one trajectory type.
    public init<Trajectory: DenoisingTrajectory>(
        groups: [UnitGroup], parameters: [String: Tensor], shapes: [String: [Int]]? = nil,
        samples: [CalibrationSample<Trajectory>], seed: UInt64 = 0,
        progress: @escaping (ScoringProgress) -> Void = { _ in }
    ) {
        self.init(
            groups: groups, parameters: parameters, shapes: shapes, calibration: samples.map(\.erased), seed: seed,
            progress: progress)
    }

    /// The parameter `key` that a slice of `module` names.
    /// - Throws: ``CriterionError/missingParameter(key:module:)``.
    func parameter(_ key: String, module: String) throws(CriterionError) -> Tensor {
        guard let tensor = parameters[key] else { throw .missingParameter(key: key, module: module) }
        return tensor
    }

    /// Throws unless calibration samples are present.
    public func requireCalibration(for criterion: String) throws(CriterionError) {
        guard calibrationShard.promptCount > 0 else { throw .missingCalibration(criterion: criterion) }
    }
}

/// Errors from looking up or running a criterion; each names the criterion, module or key involved.
public enum CriterionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No criterion is registered under `name`; `known` lists the registered names.
    case unknownCriterion(name: String, known: [String])
    /// A criterion is already registered under `name`.
    case duplicateCriterion(String)
    /// A criterion that needs calibration trajectories got none.
    case missingCalibration(criterion: String)
    /// A unit group's slice names a parameter the context does not hold.
    case missingParameter(key: String, module: String)
    /// A slice addresses entries outside its parameter.
    case sliceOutOfBounds(key: String, module: String, shape: [Int], axis: Int, end: Int)
    /// A criterion produced the wrong number of scores for a module.
    case scoreShape(module: String, expected: Int, actual: Int)
    /// A module's masked activation was not seen in the forward pass (the model does not mask it).
    case activationNotObserved(module: String)
    /// Mask learning's loss stopped being finite at (0-based) `epoch` and `prompt`; `checkpoint` holds the last good
    /// state, when one was written.
    case nonFiniteLoss(criterion: String, value: Float, epoch: Int, prompt: Int, checkpoint: String?)

    public var description: String {
        switch self {
        case .unknownCriterion(let name, let known):
            "unknown pruning criterion '\(name)'; known criteria: \(known.joined(separator: ", "))"
        case .duplicateCriterion(let name): "a pruning criterion named '\(name)' is already registered"
        case .missingCalibration(let criterion): "criterion '\(criterion)' needs calibration samples, but none were given"
        case .missingParameter(let key, let module): "parameter \(key) of module \(module) is missing"
        case .sliceOutOfBounds(let key, let module, let shape, let axis, let end):
            "module \(module): slice of \(key) \(shape) reaches index \(end) along axis \(axis)"
        case .scoreShape(let module, let expected, let actual):
            "module \(module): expected \(expected) scores, got \(actual)"
        case .activationNotObserved(let module):
            "module \(module): its masked activation was not seen in the forward pass"
        case .nonFiniteLoss(let criterion, let value, let epoch, let prompt, let checkpoint):
            "\(criterion): the loss became \(value) at epoch \(epoch + 1) prompt \(prompt + 1); "
                + (checkpoint.map { "the last good state is in \($0)" } ?? "no checkpoint was kept")
        }
    }
}
