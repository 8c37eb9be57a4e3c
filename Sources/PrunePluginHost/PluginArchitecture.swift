import CPrunePlugin
import Foundation
import PruneKit
import PruneNN
import PruneTensor

/// A plugin's `prune_architecture` as a ``PrunableArchitecture``: presets built from a seed, model
/// directories loaded by `config.json` `_class_name`, both through the plugin's `build_model` filling a
/// host ``ParameterStore`` (so export, surgery and reload are PruneKit's own).
public struct PluginArchitecture: PrunableArchitecture, @unchecked Sendable {
    public let name: String
    public let summary: String
    public let classNames: [String]
    public let presets: [ModelPresetDescriptor]
    /// The plugin that provides it.
    public let plugin: LoadedPlugin
    /// Each preset's configuration JSON, by preset name.
    let presetConfigurations: [String: Data]
    /// The scheduler the trajectories use unless the settings name a scheduler preset.
    let scheduler: SchedulerConfiguration
    let inputNames: [String]
    let conditioningShapes: [String: [Int]]
    let latentChannels: Int
    let vtable: UnsafePointer<prune_architecture>

    /// Checks the vtable and every table it points to.
    /// - Throws: ``PluginError``.
    init(vtable: UnsafePointer<prune_architecture>, plugin: LoadedPlugin) throws(PluginError) {
        let path = plugin.path
        let size = Int(vtable.pointee.struct_size)
        guard size >= ABIMinimumSize.architecture else {
            throw .structTooSmall(path: path, structure: "prune_architecture", size: size, minimum: ABIMinimumSize.architecture, abi: plugin.abiVersion)
        }
        let v = vtable.pointee
        func invalid(_ reason: String) -> PluginError { .invalidDescriptor(path: path, reason: "architecture: \(reason)") }
        guard let name = v.name, !String(cString: name).isEmpty else { throw invalid("no name") }
        let architecture = String(cString: name)
        guard v.build_model != nil, v.forward != nil, v.release_model != nil else {
            throw invalid("\(architecture) lacks build_model, forward or release_model")
        }
        func strings(_ table: UnsafePointer<UnsafePointer<CChar>?>?, _ count: Int32, _ what: String) throws(PluginError) -> [String] {
            guard count >= 0, count == 0 || table != nil else { throw invalid("\(architecture): \(what) count \(count) without a table") }
            var result: [String] = []
            for index in 0..<Int(count) {
                guard let text = table![index] else { throw invalid("\(architecture): \(what)[\(index)] is NULL") }
                result.append(String(cString: text))
            }
            return result
        }
        classNames = try strings(v.class_names, v.class_name_count, "class_names")
        inputNames = try strings(v.input_names, v.input_name_count, "input_names")
        let conditioningNames = try strings(v.conditioning_names, v.conditioning_count, "conditioning_names")
        var shapes: [String: [Int]] = [:]
        for (index, conditioning) in conditioningNames.enumerated() {
            guard let ranks = v.conditioning_ranks, let extents = v.conditioning_shapes else { throw invalid("conditioning shapes missing") }
            let rank = Int(ranks[index])
            guard rank >= 1, rank <= Int(PRUNE_MAX_RANK) else { throw invalid("conditioning \(conditioning) has rank \(rank)") }
            let shape = (0..<rank).map { Int(extents[index * Int(PRUNE_MAX_RANK) + $0]) }
            guard shape.allSatisfy({ $0 >= 1 }), shape[0] == 1 else { throw invalid("conditioning \(conditioning) shape \(shape) must be [1, …]") }
            shapes[conditioning] = shape
        }
        conditioningShapes = shapes
        guard v.latent_channels >= 1 else { throw invalid("\(architecture): latent_channels \(v.latent_channels)") }
        latentChannels = Int(v.latent_channels)

        guard let schedulerText = v.scheduler_json.map({ String(cString: $0) }) else { throw invalid("\(architecture) has no scheduler_json") }
        if let preset = try? SchedulerPreset(name: schedulerText) {
            scheduler = preset.configuration
        } else {
            do { scheduler = try SchedulerConfiguration(json: Data(schedulerText.utf8)) } catch {
                throw invalid("\(architecture): scheduler_json is neither a scheduler preset nor a supported scheduler_config.json (\(error))")
            }
        }
        let schedulerPreset = try? SchedulerPreset(name: schedulerText)

        guard v.preset_count >= 0, v.preset_count == 0 || v.presets != nil else { throw invalid("\(architecture): presets table missing") }
        var presets: [ModelPresetDescriptor] = []
        var configurations: [String: Data] = [:]
        for index in 0..<Int(v.preset_count) {
            let preset = v.presets[index]
            guard Int(preset.struct_size) >= ABIMinimumSize.preset else {
                throw .structTooSmall(path: path, structure: "prune_preset", size: Int(preset.struct_size), minimum: ABIMinimumSize.preset, abi: plugin.abiVersion)
            }
            guard let presetName = preset.name, let json = preset.configuration_json else { throw invalid("preset \(index) lacks a name or configuration") }
            let data = Data(String(cString: json).utf8)
            guard (try? JSONSerialization.jsonObject(with: data)) is [String: Any] else {
                throw invalid("preset \(String(cString: presetName)): configuration_json is not a JSON object")
            }
            guard preset.steps >= 1, preset.height >= 8, preset.width >= 8, preset.height % 8 == 0, preset.width % 8 == 0 else {
                throw invalid("preset \(String(cString: presetName)): steps \(preset.steps), size \(preset.height)×\(preset.width)")
            }
            let descriptor = ModelPresetDescriptor(
                name: String(cString: presetName), summary: preset.summary.map { String(cString: $0) } ?? "",
                trajectory: TrajectorySettings(
                    scheduler: schedulerPreset, steps: Int(preset.steps), guidanceScale: preset.guidance_scale,
                    height: Int(preset.height), width: Int(preset.width)))
            presets.append(descriptor)
            configurations[descriptor.name] = data
        }
        self.name = architecture
        summary = (v.summary.map { String(cString: $0) } ?? "") + " [plugin \(plugin.name) \(plugin.version)]"
        self.presets = presets
        presetConfigurations = configurations
        self.plugin = plugin
        self.vtable = vtable
    }

    public func load(directory: String) throws -> any PrunableModel {
        let url = URL(fileURLWithPath: directory)
        let configPath = url.appendingPathComponent("config.json").path
        guard let data = FileManager.default.contents(atPath: configPath) else {
            throw ArchitectureRegistryError.missingConfiguration(path: configPath)
        }
        guard let configuration = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ArchitectureRegistryError.badConfiguration(path: configPath, reason: "expected a JSON object")
        }
        let source = try SafetensorsTensorSource(modelDirectory: directory)
        return try build(
            store: ParameterStore(source: source, sourceName: directory), checkpoint: source, configuration: configuration,
            configurationData: data, defaults: TrajectorySettings())
    }

    public func makeModel(preset: String, seed: UInt64) throws -> any PrunableModel {
        let (data, descriptor) = try presetConfiguration(preset)
        let configuration = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        return try build(
            store: ParameterStore(randomSeed: seed), checkpoint: nil, configuration: configuration, configurationData: data,
            defaults: descriptor.trajectory)
    }

    /// The preset's unit groups and parameter shapes from a shapes-only build (no weights allocated).
    public func layout(preset: String) throws -> ModelLayout {
        let (data, descriptor) = try presetConfiguration(preset)
        let configuration = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        return try build(
            store: ParameterStore(shapesOnly: ()), checkpoint: nil, configuration: configuration, configurationData: data,
            defaults: descriptor.trajectory
        ).layout
    }

    private func presetConfiguration(_ preset: String) throws -> (Data, ModelPresetDescriptor) {
        guard let data = presetConfigurations[preset], let descriptor = presets.first(where: { $0.name == preset }) else {
            throw ArchitectureRegistryError.unknownPreset(name: preset, known: presets.map(\.name))
        }
        return (data, descriptor)
    }

    /// Runs the plugin's `build_model` against `store`, then checks the parameters and unit groups.
    private func build(
        store: ParameterStore, checkpoint: (any TensorSource)?, configuration: [String: Any], configurationData: Data,
        defaults: TrajectorySettings
    ) throws -> PluginModel {
        let builder = ModelBuilder(store: store, checkpoint: checkpoint, configuration: configuration)
        var model: UnsafeMutableRawPointer?
        let status = ModelBuilder.table.lending(builder) { pointer in vtable.pointee.build_model(vtable.pointee.context, pointer, &model) }
        guard status == PRUNE_OK, let model else {
            if let model { vtable.pointee.release_model(model) }
            throw plugin.failure("architecture \(name): build_model", status: status == PRUNE_OK ? PRUNE_ERR_INTERNAL : status)
        }
        // Block lists own every parameter under `<list>.<u>.`.
        let groups = builder.groups.map { group in
            group.isBlockList
                ? UnitGroup.blocks(listKey: group.moduleKey, count: group.unitCount, parameterKeys: store.parameters.keys) : group
        }
        let instance = PluginModel(
            architecture: self, model: model, parameters: store, groups: groups, configuration: configurationData,
            blockDepthKeys: builder.blockDepthKeys, defaults: defaults)
        try store.finish()
        try instance.validateUnitGroups()
        return instance
    }
}
