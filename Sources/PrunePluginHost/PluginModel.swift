import CPrunePlugin
import Foundation
import PruneKit
import PruneNN
import PruneTensor

/// One model built by a plugin architecture, as a ``PrunableModel``. Its parameters live in a host
/// ``ParameterStore`` and its forward runs in the plugin as calls to host operations, so masks,
/// gradients, checkpointing, surgery and export treat it like a built-in model.
public final class PluginModel: PrunableModel {
    let architecture: PluginArchitecture
    /// The plugin's model object (released with `release_model` when this model goes away).
    private let model: UnsafeMutableRawPointer
    public let parameters: ParameterStore
    public let unitGroups: [UnitGroup]
    let configuration: Data
    public let defaultTrajectorySettings: TrajectorySettings
    /// The configuration key holding each block list's depth, by list key (`builder_block_depth_key`); exports may
    /// remove whole blocks only of these lists.
    public let blockDepthKeys: [String: String]

    init(
        architecture: PluginArchitecture, model: UnsafeMutableRawPointer, parameters: ParameterStore, groups: [UnitGroup],
        configuration: Data, blockDepthKeys: [String: String], defaults: TrajectorySettings
    ) {
        self.architecture = architecture
        self.model = model
        self.parameters = parameters
        unitGroups = groups
        self.configuration = configuration
        self.blockDepthKeys = blockDepthKeys
        defaultTrajectorySettings = defaults
    }

    deinit { architecture.vtable.pointee.release_model(model) }

    public var architectureName: String { architecture.classNames.first ?? architecture.name }
    /// EcoDiff's SDXL settings (hard-concrete masks, L1 on λ): the U-Net-era defaults suit DiT-style
    /// latent denoisers best of the two built-in sets.
    public var ecoDiffSettings: EcoDiffSettings { .sdxl }
    public var forwardInputNames: [String] { architecture.inputNames }
    public var conditioningShapes: [String: [Int]] { architecture.conditioningShapes }

    public func forward(_ inputs: [String: Tensor], masks: UnitMasks) throws -> Tensor {
        try call(architecture.vtable.pointee.forward, "forward", inputs: inputs, masks: masks, guidance: 1)
    }

    /// What the scheduler consumes at one step (the plugin's `predict`, or `forward` when it has none).
    func predict(_ inputs: [String: Tensor], masks: UnitMasks, guidance: Float) throws -> Tensor {
        let function = architecture.vtable.pointee.predict ?? architecture.vtable.pointee.forward
        return try call(function, "predict", inputs: inputs, masks: masks, guidance: guidance)
    }

    private func call(
        _ function: (@convention(c) (UnsafeMutableRawPointer?, OpaquePointer?, UnsafeMutablePointer<prune_tensor?>?) -> prune_status)?,
        _ name: String, inputs: [String: Tensor], masks: UnitMasks, guidance: Float
    ) throws -> Tensor {
        guard let function else { throw architecture.plugin.failure("architecture \(architecture.name): \(name)", status: PRUNE_ERR_UNSUPPORTED) }
        for group in unitGroups {
            if let mask = masks[group.moduleKey], mask.count != group.unitCount {
                throw PluginModelError.maskShape(module: group.moduleKey, expected: group.unitCount, actual: mask.shape)
            }
        }
        let forwardCall = ForwardCall(inputs: inputs, masks: masks, guidance: guidance)
        var output: prune_tensor?
        let status = ForwardCall.table.lending(forwardCall) { pointer in function(model, pointer, &output) }
        let tensor = try output.map { try TensorHandles.shared.take($0) }
        guard status == PRUNE_OK else { throw architecture.plugin.failure("architecture \(architecture.name): \(name)", status: status) }
        guard let tensor else {
            throw PluginError.pluginFailed(
                plugin: architecture.plugin.name, function: "architecture \(architecture.name): \(name)", status: PRUNE_ERR_INTERNAL,
                message: "returned no output tensor")
        }
        return tensor
    }

    public func trajectory(conditioning: PromptConditioning, settings: TrajectorySettings, seed: UInt64) throws -> PreparedTrajectory {
        let filled = settings.filled(from: defaultTrajectorySettings)
        let steps = filled.steps ?? 1
        guard steps >= 1 else { throw PrunableModelError.badSetting("steps must be at least 1, got \(steps)") }
        guard let height = filled.height, let width = filled.width, height >= 8, width >= 8, height % 8 == 0, width % 8 == 0 else {
            throw PrunableModelError.badSetting(
                "\(architecture.name) image sizes are positive multiples of 8, got \(filled.height ?? 0)×\(filled.width ?? 0)")
        }
        var scheduler = try (filled.schedulerConfiguration ?? filled.scheduler?.configuration ?? architecture.scheduler).makeScheduler()
        try scheduler.setTimesteps(steps, mu: nil)
        var tensors: [String: Tensor] = [:]
        for name in conditioningShapes.keys { tensors[name] = try conditioning.required(name) }
        let latentShape = [1, architecture.latentChannels, height / 8, width / 8]
        let trajectory = PluginTrajectory(
            model: self, scheduler: scheduler, conditioning: tensors, guidance: filled.guidanceScale ?? 1, latentShape: latentShape, seed: seed)
        return PreparedTrajectory(trajectory, noiseShape: latentShape)
    }

    public func configurationJSON(sourceDirectory: String?) throws -> Data { configuration }

    /// Throws unless every slice of every unit group addresses a declared parameter within its extent.
    func validateUnitGroups() throws {
        for group in unitGroups {
            if group.isBlockList, let empty = group.wholeTensors.firstIndex(where: \.isEmpty) {
                throw PluginModelError.badSlice(module: group.moduleKey, reason: "block \(empty) owns no parameter (none starts with \(group.blockPrefix(ofUnit: empty)))")
            }
            for slice in group.slices {
                guard let shape = parameters.parameters[slice.key]?.shape else {
                    throw PluginModelError.badSlice(module: group.moduleKey, reason: "parameter \(slice.key) was not declared")
                }
                guard slice.axis < shape.count, slice.offset + group.unitCount * slice.width <= shape[slice.axis] else {
                    throw PluginModelError.badSlice(
                        module: group.moduleKey,
                        reason: "\(group.unitCount) units × \(slice.width) from \(slice.offset) along axis \(slice.axis) exceed \(slice.key) \(shape)")
                }
            }
        }
    }
}

/// Errors of a plugin model's contract, checked on the host side.
public enum PluginModelError: Error, Sendable, Equatable, CustomStringConvertible {
    case maskShape(module: String, expected: Int, actual: [Int])
    case badSlice(module: String, reason: String)

    public var description: String {
        switch self {
        case .maskShape(let module, let expected, let actual): "mask of \(module) must have \(expected) values, got \(actual)"
        case .badSlice(let module, let reason): "unit group \(module): \(reason)"
        }
    }
}

/// The denoising loop of a plugin model: the host's scheduler around the plugin's `predict`.
/// Step `i`: `ε = predict(sample: scale(x, i), timestep: [t_i], conditioning…)`, then the scheduler's update.
struct PluginTrajectory: DenoisingTrajectory {
    let model: PluginModel
    let scheduler: any Scheduler
    let conditioning: [String: Tensor]
    let guidance: Float
    let stepNoise: [Int: Tensor]

    init(model: PluginModel, scheduler: any Scheduler, conditioning: [String: Tensor], guidance: Float, latentShape: [Int], seed: UInt64) {
        self.model = model
        self.scheduler = scheduler
        self.conditioning = conditioning
        self.guidance = guidance
        var generator = SeededGenerator(seed: seed)
        var noise: [Int: Tensor] = [:]
        for index in scheduler.timesteps.indices where scheduler.needsNoise(atStep: index) {
            noise[index] = Tensor.randomNormal(latentShape, using: &generator)
        }
        stepNoise = noise
    }

    var stepCount: Int { scheduler.timesteps.count }

    func initialLatents(noise: Tensor) -> Tensor { noise * scheduler.initNoiseSigma }

    func step(_ latents: Tensor, index: Int, masks: UnitMasks) throws -> Tensor {
        var inputs = conditioning
        inputs["sample"] = scheduler.scaleModelInput(latents, stepIndex: index)
        inputs["timestep"] = Tensor([scheduler.timesteps[index]], shape: [1])
        let prediction = try model.predict(inputs, masks: masks, guidance: guidance)
        guard prediction.shape == latents.shape else {
            throw PluginError.pluginFailed(
                plugin: model.architecture.plugin.name, function: "architecture \(model.architecture.name): predict",
                status: PRUNE_ERR_SHAPE, message: "returned \(prediction.shape) for latents \(latents.shape)")
        }
        return scheduler.stepOutput(modelOutput: prediction, stepIndex: index, sample: latents, noise: stepNoise[index]).prevSample
    }
}
