import CPrunePlugin
import Foundation

/// Builds a plugin's C descriptor and vtables from Swift criteria and architectures. The plugin's entry
/// symbol returns what ``descriptor(name:version:summary:criteria:architectures:hooks:)`` made:
///
/// ```swift
/// let descriptor = PluginExport.descriptor(name: "gradient-flow", version: "1.0.0", summary: "…",
///                                          criteria: [GradientFlowCriterion()])
/// @_cdecl("prune_plugin_entry")
/// public func pruneMyPluginEntry() -> UnsafePointer<prune_plugin_descriptor> { descriptor.pointer }
/// ```
///
/// Everything made here lives for the process (the host never unloads plugins).
public enum PluginExport {
    nonisolated(unsafe) private static var criteria: [any CriterionPlugin] = []
    nonisolated(unsafe) private static var architectures: [any ArchitecturePlugin] = []
    nonisolated(unsafe) private static var criterionTables: UnsafeMutablePointer<UnsafePointer<prune_criterion>?>?
    nonisolated(unsafe) private static var architectureTables: UnsafeMutablePointer<UnsafePointer<prune_architecture>?>?

    /// The plugin's descriptor (build it once, in a global).
    public static func descriptor(
        name: String, version: String, summary: String, criteria: [any CriterionPlugin] = [],
        architectures: [any ArchitecturePlugin] = [], hooks: [PluginHookDeclaration] = []
    ) -> PluginDescriptor {
        Self.criteria = criteria
        Self.architectures = architectures
        let descriptor = UnsafeMutablePointer<prune_plugin_descriptor>.allocate(capacity: 1)
        descriptor.initialize(to: prune_plugin_descriptor())
        descriptor.pointee.abi_version = PRUNE_PLUGIN_ABI_VERSION
        descriptor.pointee.struct_size = UInt32(MemoryLayout<prune_plugin_descriptor>.size)
        descriptor.pointee.name = permanent(name)
        descriptor.pointee.version = permanent(version)
        descriptor.pointee.summary = permanent(summary)
        descriptor.pointee.kinds = (criteria.isEmpty ? 0 : PRUNE_KIND_CRITERION) | (architectures.isEmpty ? 0 : PRUNE_KIND_ARCHITECTURE)
        descriptor.pointee.initialize = { host, contents in PluginExport.initialize(host: host, contents: contents) }
        descriptor.pointee.last_error = { PluginBoundary.lastError }
        let hookTable = UnsafeMutablePointer<prune_hook>.allocate(capacity: max(hooks.count, 1))
        for (index, hook) in hooks.enumerated() {
            hookTable[index] = prune_hook(role: permanent(hook.role), symbol: permanent(hook.symbol), signature: permanent(hook.signature))
        }
        descriptor.pointee.hooks = UnsafePointer(hookTable)
        descriptor.pointee.hook_count = Int32(hooks.count)
        return PluginDescriptor(pointer: UnsafePointer(descriptor))
    }

    /// A C copy of `text` that is never freed.
    static func permanent(_ text: String) -> UnsafePointer<CChar> { UnsafePointer(strdup(text)!) }

    private static func initialize(host: UnsafePointer<prune_host_services>?, contents: UnsafeMutablePointer<prune_plugin_contents>?) -> prune_status {
        PluginBoundary.run {
            guard let host, let contents else { throw PluginFailure.invalidArgument("initialize: NULL host or contents") }
            // ABI 1's first services table suffices: services appended since read as nil on an older host (Host.services()).
            let firstRelease = MemoryLayout<prune_host_services>.offset(of: \.scoring_progress)! + MemoryLayout<UnsafeRawPointer>.size
            guard host.pointee.abi_version == PRUNE_PLUGIN_ABI_VERSION, Int(host.pointee.struct_size) >= firstRelease else {
                throw PluginFailure.unsupported(
                    "host ABI \(host.pointee.abi_version) with a \(host.pointee.struct_size)-byte services table; this plugin needs ABI \(PRUNE_PLUGIN_ABI_VERSION) and at least \(firstRelease) bytes")
            }
            Host.table = host
            if criterionTables == nil {
                criterionTables = .allocate(capacity: max(criteria.count, 1))
                for (index, criterion) in criteria.enumerated() { criterionTables![index] = makeCriterionTable(criterion) }
                architectureTables = .allocate(capacity: max(architectures.count, 1))
                for (index, architecture) in architectures.enumerated() { architectureTables![index] = makeArchitectureTable(architecture) }
            }
            contents.pointee.criteria = UnsafePointer(criterionTables)
            contents.pointee.criterion_count = Int32(criteria.count)
            contents.pointee.architectures = UnsafePointer(architectureTables)
            contents.pointee.architecture_count = Int32(architectures.count)
        }
    }

    private final class CriterionBox {
        let criterion: any CriterionPlugin
        init(_ criterion: any CriterionPlugin) { self.criterion = criterion }
    }

    private static func makeCriterionTable(_ criterion: any CriterionPlugin) -> UnsafePointer<prune_criterion> {
        let table = UnsafeMutablePointer<prune_criterion>.allocate(capacity: 1)
        table.initialize(to: prune_criterion())
        table.pointee.struct_size = UInt32(MemoryLayout<prune_criterion>.size)
        table.pointee.name = permanent(criterion.name)
        table.pointee.summary = permanent(criterion.summary)
        table.pointee.flags = (criterion.needsCalibration ? PRUNE_CRITERION_NEEDS_CALIBRATION : 0)
            | (criterion.supportsDataParallelism ? PRUNE_CRITERION_DATA_PARALLEL : 0)
        table.pointee.context = Unmanaged.passRetained(CriterionBox(criterion)).toOpaque()
        table.pointee.score = { context, scoring, scores, count in
            PluginBoundary.run {
                guard let context, let scoring else { throw PluginFailure.invalidArgument("score: NULL context") }
                let criterion = Unmanaged<CriterionBox>.fromOpaque(context).takeUnretainedValue().criterion
                let values = try criterion.scores(in: ScoringContextView(pointer: scoring))
                guard values.count == Int(count) else {
                    throw PluginFailure(status: PRUNE_ERR_INTERNAL, message: "\(criterion.name) produced \(values.count) scores for \(count) units")
                }
                if let scores { for (index, value) in values.enumerated() { scores[index] = value } }
            }
        }
        return UnsafePointer(table)
    }

    private final class ArchitectureBox {
        let architecture: any ArchitecturePlugin
        init(_ architecture: any ArchitecturePlugin) { self.architecture = architecture }
    }

    private final class ModelBox {
        let model: any PluginModelInstance
        init(_ model: any PluginModelInstance) { self.model = model }
    }

    private static func stringTable(_ strings: [String]) -> UnsafePointer<UnsafePointer<CChar>?> {
        let table = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: max(strings.count, 1))
        for (index, string) in strings.enumerated() { table[index] = permanent(string) }
        return UnsafePointer(table)
    }

    private static func makeArchitectureTable(_ architecture: any ArchitecturePlugin) -> UnsafePointer<prune_architecture> {
        let table = UnsafeMutablePointer<prune_architecture>.allocate(capacity: 1)
        table.initialize(to: prune_architecture())
        var t = prune_architecture()
        t.struct_size = UInt32(MemoryLayout<prune_architecture>.size)
        t.name = permanent(architecture.name)
        t.summary = permanent(architecture.summary)
        t.class_names = stringTable(architecture.classNames)
        t.class_name_count = Int32(architecture.classNames.count)
        let presets = UnsafeMutablePointer<prune_preset>.allocate(capacity: max(architecture.presets.count, 1))
        for (index, preset) in architecture.presets.enumerated() {
            presets[index] = prune_preset(
                struct_size: UInt32(MemoryLayout<prune_preset>.size), name: permanent(preset.name), summary: permanent(preset.summary),
                configuration_json: permanent(preset.configurationJSON), steps: Int32(preset.steps), guidance_scale: preset.guidanceScale,
                height: Int32(preset.height), width: Int32(preset.width))
        }
        t.presets = UnsafePointer(presets)
        t.preset_count = Int32(architecture.presets.count)
        t.scheduler_json = permanent(architecture.schedulerJSON)
        t.input_names = stringTable(architecture.inputNames)
        t.input_name_count = Int32(architecture.inputNames.count)
        let conditioning = architecture.conditioning
        t.conditioning_names = stringTable(conditioning.map(\.name))
        let rank = Int(PRUNE_MAX_RANK)
        let shapes = UnsafeMutablePointer<Int64>.allocate(capacity: max(conditioning.count * rank, 1))
        shapes.initialize(repeating: 0, count: max(conditioning.count * rank, 1))
        let ranks = UnsafeMutablePointer<Int32>.allocate(capacity: max(conditioning.count, 1))
        for (index, entry) in conditioning.enumerated() {
            ranks[index] = Int32(entry.shape.count)
            for (axis, extent) in entry.shape.prefix(rank).enumerated() { shapes[index * rank + axis] = Int64(extent) }
        }
        t.conditioning_shapes = UnsafePointer(shapes)
        t.conditioning_ranks = UnsafePointer(ranks)
        t.conditioning_count = Int32(conditioning.count)
        t.latent_channels = Int32(architecture.latentChannels)
        t.context = Unmanaged.passRetained(ArchitectureBox(architecture)).toOpaque()
        t.build_model = { context, builder, model in
            PluginBoundary.run {
                guard let context, let builder, let model else { throw PluginFailure.invalidArgument("build_model: NULL argument") }
                model.pointee = nil
                let architecture = Unmanaged<ArchitectureBox>.fromOpaque(context).takeUnretainedValue().architecture
                let instance = try architecture.buildModel(ModelBuilderView(pointer: builder))
                model.pointee = Unmanaged.passRetained(ModelBox(instance)).toOpaque()
            }
        }
        t.forward = { model, call, out in
            PluginBoundary.run {
                guard let model, let call, let out else { throw PluginFailure.invalidArgument("forward: NULL argument") }
                out.pointee = nil
                let instance = Unmanaged<ModelBox>.fromOpaque(model).takeUnretainedValue().model
                out.pointee = try instance.forward(ForwardCallView(pointer: call)).retainedHandle()
            }
        }
        t.predict = { model, call, out in
            PluginBoundary.run {
                guard let model, let call, let out else { throw PluginFailure.invalidArgument("predict: NULL argument") }
                out.pointee = nil
                let instance = Unmanaged<ModelBox>.fromOpaque(model).takeUnretainedValue().model
                out.pointee = try instance.predict(ForwardCallView(pointer: call)).retainedHandle()
            }
        }
        t.release_model = { model in
            guard let model else { return }
            Unmanaged<ModelBox>.fromOpaque(model).release()
        }
        table.pointee = t
        return UnsafePointer(table)
    }
}

/// A plugin's finished descriptor; immutable once made, so it may live in a global.
public struct PluginDescriptor: @unchecked Sendable {
    /// What the entry symbol returns.
    public let pointer: UnsafePointer<prune_plugin_descriptor>
}
