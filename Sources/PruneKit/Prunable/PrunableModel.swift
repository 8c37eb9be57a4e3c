import Foundation
import PruneNN
import PruneTensor

/// A model PruneKit can prune: it declares its maskable units by checkpoint key, what each unit costs,
/// a forward that takes unit masks, and how to unroll its denoising schedule from noise and conditioning
/// (guidance included). Every criterion, the plan, the EcoDiff objective, surgery and export work
/// through this protocol alone, so a new architecture — built in, or loaded from a plugin — needs no
/// change to PruneKit.
///
/// ```swift
/// let model = try ArchitectureRegistry.shared.loadModel(directory: "unet/")
/// let scores = try MagnitudeCriterion().scores(in: ScoringContext(groups: model.unitGroups, parameters: model.parameters.parameters))
/// ```
public protocol PrunableModel: AnyObject {
    /// The architecture's name (for built-ins the diffusers class, e.g. `UNet2DConditionModel`).
    var architectureName: String { get }
    /// The model's maskable units, in model order: per attention module its heads, per FFN its neurons.
    /// Each unit's ``ParameterSlice``s name the checkpoint entries it owns, which is also its cost.
    var unitGroups: [UnitGroup] { get }
    /// The parameters, by checkpoint key.
    var parameters: ParameterStore { get }
    /// Parameters, heads and FFN neurons; by default counted from the layout (``ModelAccounting/init(layout:)``).
    var accounting: ModelAccounting { get }
    /// The schedule, steps, guidance and image size the model is sampled with unless told otherwise.
    var defaultTrajectorySettings: TrajectorySettings { get }
    /// EcoDiff's mask parametrisation, objective and learning rates for this architecture.
    var ecoDiffSettings: EcoDiffSettings { get }
    /// The names of the tensors ``forward(_:masks:)`` reads, as diffusers' `forward` arguments.
    var forwardInputNames: [String] { get }

    /// One denoiser call on inputs named like diffusers' `forward` arguments (extra names are ignored).
    /// Differentiable in the inputs and the masks.
    /// - Returns: the model output (SDXL: `[B, C, h, w]`; FLUX: `[B, N, C·4]`).
    /// - Throws: ``PrunableModelError/missingInput(name:)`` or the architecture's shape errors.
    func forward(_ inputs: [String: Tensor], masks: UnitMasks) throws -> Tensor

    /// The calibration trajectory of one prompt: `settings` filled from ``defaultTrajectorySettings``
    /// where unset, the conditioning from `conditioning`, ancestral noise (if any) from `seed`.
    /// - Returns: the trajectory and the shape of the standard-normal noise it starts from.
    /// - Throws: when the conditioning lacks a tensor or the settings do not fit the model.
    func trajectory(conditioning: PromptConditioning, settings: TrajectorySettings, seed: UInt64) throws -> PreparedTrajectory

    /// The `config.json` an export of this model carries (the source directory's own when there is one).
    func configurationJSON(sourceDirectory: String?) throws -> Data

    /// The `config.json` of this model pruned to `selection`: ``configurationJSON(sourceDirectory:)`` with the
    /// depth of every block list that `selection` shortens (FLUX `num_layers`, SDXL `transformer_layers_per_block`).
    /// The default returns the configuration unchanged when no whole block is removed and throws
    /// ``ExportError/depthNotExpressible(architecture:module:)`` otherwise.
    func prunedConfigurationJSON(sourceDirectory: String?, selection: UnitSelection) throws -> Data

    /// The tensors one prompt's ``PromptConditioning`` must hold, with their shapes for a batch of 1
    /// (e.g. SDXL `prompt_embeds` `[1, 77, 2048]` and `pooled_prompt_embeds` `[1, 1280]`).
    var conditioningShapes: [String: [Int]] { get }

    /// Writes this model with the units outside `selection` physically removed, as a model directory that
    /// the architecture's loader reads back with the pruned widths (see ``PrunedExport``); a module with
    /// no units left keeps only its output bias.
    /// - Returns: the manifest written as `prunekit.json`.
    /// - Throws: ``ExportError``.
    @discardableResult
    func exportPruned(
        selection: UnitSelection, to directory: String, provenance: PruningProvenance, replacing: Bool, dtype: DType
    ) throws -> ExportManifest
}

extension PrunableModel {
    /// The generic export: ``PrunedExport`` over ``unitGroups`` with ``configurationJSON(sourceDirectory:)``.
    @discardableResult
    public func exportPruned(
        selection: UnitSelection, to directory: String, provenance: PruningProvenance = PruningProvenance(),
        replacing: Bool = false, dtype: DType = .float32
    ) throws -> ExportManifest {
        try PrunedExport.write(
            parameters: parameters.parameters, groups: unitGroups, selection: selection, architecture: architectureName,
            configuration: try prunedConfigurationJSON(sourceDirectory: provenance.sourceDirectory, selection: selection),
            provenance: provenance, to: directory, replacing: replacing, dtype: dtype)
    }

    /// The default: the configuration unchanged, unless `selection` removes a whole block.
    public func prunedConfigurationJSON(sourceDirectory: String?, selection: UnitSelection) throws -> Data {
        if let list = unitGroups.first(where: { $0.isBlockList && selection.keptUnits(of: $0).count < $0.unitCount }) {
            throw ExportError.depthNotExpressible(architecture: architectureName, module: list.moduleKey)
        }
        return try configurationJSON(sourceDirectory: sourceDirectory)
    }

    /// The maskable units of the given kinds, in model order.
    public func unitGroups(of kinds: Set<UnitKind>) -> [UnitGroup] { unitGroups.filter { kinds.contains($0.kind) } }

    /// `name` from `inputs`, or ``PrunableModelError/missingInput(name:)``.
    public func requiredInput(_ name: String, in inputs: [String: Tensor]) throws(PrunableModelError) -> Tensor {
        guard let tensor = inputs[name] else { throw .missingInput(name: name, expected: forwardInputNames) }
        return tensor
    }
}

/// EcoDiff's per-architecture settings: how masks are parametrised, the objective's penalty, and the
/// learning rate of each unit kind.
public struct EcoDiffSettings: Sendable {
    public var parametrization: MaskParametrization
    public var objective: EcoDiffObjective
    public var learningRates: [UnitKind: Float]

    public init(parametrization: MaskParametrization, objective: EcoDiffObjective, learningRates: [UnitKind: Float]) {
        self.parametrization = parametrization
        self.objective = objective
        self.learningRates = learningRates
    }

    /// EcoDiff's SDXL settings (hard-concrete with noise bound 0.5, L1 on λ with weight 0.5, rates 0.1).
    public static let sdxl = EcoDiffSettings(
        parametrization: .hardConcrete(.sdxl), objective: .sdxl, learningRates: MaskTrainer.sdxlLearningRates)
    /// PruneKit's FLUX settings: EcoDiff's FLUX objective (sigmoid L1 penalty with weight 0.01) trained with
    /// the gate and learning rates of EcoDiff's SDXL setting (hard-concrete noise bound 0.5, rate 0.1 for every
    /// kind). EcoDiff's published FLUX gate (δ = 0.1 with heads at rate 0.5, ``fluxPublished``) lets every gate
    /// fall to 0.70 at λ₀ = 3, so λ learn unit importance in a model far from the one being pruned; on the FLUX
    /// demo that ranked heads no better than chance against their measured removal damage
    /// (docs/ecodiff-flux-diagnosis.md, docs/decisions.md).
    public static let flux = EcoDiffSettings(
        parametrization: .hardConcrete(.sdxl), objective: .flux,
        learningRates: [.attentionHead: 0.1, .feedForwardNeuron: 0.1, .modulationOutput: 0.1])
    /// EcoDiff's published FLUX settings (hard-concrete with noise bound 0.1, sigmoid L1 with weight 0.01,
    /// rates heads 0.5, neurons 0.1, modulation 0.5), for reproducing the paper's FLUX runs.
    public static let fluxPublished = EcoDiffSettings(
        parametrization: .hardConcrete(.flux), objective: .flux, learningRates: MaskTrainer.fluxLearningRates)
}

/// Errors of the model-independent parts of the ``PrunableModel`` contract.
public enum PrunableModelError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A forward input is missing.
    case missingInput(name: String, expected: [String])
    /// A prompt's conditioning lacks a tensor the architecture needs.
    case missingConditioning(name: String, source: String)
    /// A trajectory setting does not fit the model.
    case badSetting(String)

    public var description: String {
        switch self {
        case .missingInput(let name, let expected):
            "input \(name) is missing (the model reads \(expected.joined(separator: ", ")))"
        case .missingConditioning(let name, let source): "\(source) has no tensor named \(name)"
        case .badSetting(let reason): reason
        }
    }
}
