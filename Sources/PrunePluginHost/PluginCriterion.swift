import CPrunePlugin
import PruneKit

/// A plugin's `prune_criterion` as a ``PruningCriterion``: `scores(in:)` lends the plugin the
/// ``ScoringContext`` through the services table and reads one score per unit back.
public struct PluginCriterion: PruningCriterion, @unchecked Sendable {
    public let name: String
    public let summary: String
    public let requiresCalibration: Bool
    /// PRUNE_CRITERION_DATA_PARALLEL, or no calibration (a data-free criterion sees no shard).
    public let supportsDataParallelism: Bool
    /// The plugin that provides it.
    public let plugin: LoadedPlugin
    private let vtable: UnsafePointer<prune_criterion>

    /// Checks the vtable's size and required fields.
    /// - Throws: ``PluginError/structTooSmall(path:structure:size:minimum:abi:)``, ``PluginError/invalidDescriptor(path:reason:)``.
    init(vtable: UnsafePointer<prune_criterion>, plugin: LoadedPlugin) throws(PluginError) {
        let size = Int(vtable.pointee.struct_size)
        guard size >= ABIMinimumSize.criterion else {
            throw .structTooSmall(path: plugin.path, structure: "prune_criterion", size: size, minimum: ABIMinimumSize.criterion, abi: plugin.abiVersion)
        }
        let v = vtable.pointee
        guard let name = v.name, !String(cString: name).isEmpty, v.score != nil else {
            throw .invalidDescriptor(path: plugin.path, reason: "a criterion lacks its name or score function")
        }
        self.name = String(cString: name)
        summary = (v.summary.map { String(cString: $0) } ?? "") + " [plugin \(plugin.name) \(plugin.version)]"
        requiresCalibration = v.flags & PRUNE_CRITERION_NEEDS_CALIBRATION != 0
        supportsDataParallelism = !requiresCalibration || v.flags & PRUNE_CRITERION_DATA_PARALLEL != 0
        self.plugin = plugin
        self.vtable = vtable
    }

    public func scores(in context: ScoringContext) throws -> UnitScores {
        if requiresCalibration { try context.requireCalibration(for: name) }
        let total = context.groups.reduce(0) { $0 + $1.unitCount }
        var scores = [Float](repeating: .nan, count: total)
        let bridge = ScoringBridge(context: context, criterion: name)
        let status = ScoringBridge.table.lending(bridge) { pointer in
            scores.withUnsafeMutableBufferPointer { buffer in
                vtable.pointee.score(vtable.pointee.context, pointer, buffer.baseAddress, Int64(total))
            }
        }
        guard status == PRUNE_OK else { throw plugin.failure("criterion \(name): score", status: status) }
        var result = UnitScores()
        var start = 0
        for group in context.groups {
            let slice = Array(scores[start..<start + group.unitCount])
            if let unit = slice.firstIndex(where: { !$0.isFinite }) {
                throw PluginError.pluginFailed(
                    plugin: plugin.name, function: "criterion \(name): score", status: PRUNE_ERR_INTERNAL,
                    message: "score of unit \(unit) of \(group.moduleKey) is \(slice[unit]) (not written, or not finite)")
            }
            result[group.moduleKey] = slice
            start += group.unitCount
        }
        return result
    }
}
