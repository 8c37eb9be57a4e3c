import CPrunePlugin
import PrunePluginKit

/// The plugin's descriptor: one criterion, `gradient-flow`, and a `configure` hook for its settings
/// (`prunekit … --plugin-option gradient-flow.iterations=8`).
let gradientFlowDescriptor = PluginExport.descriptor(
    name: "gradient-flow", version: "1.0.0",
    summary: "iterative, progressive soft-mask pruning along a gradient-flow score (reconstruction of Wan et al., ICASSP 2025)",
    criteria: [GradientFlowCriterion.shared],
    hooks: [PluginHookDeclaration(role: "configure", symbol: "gradient_flow_configure", signature: "i32(str,str)")])

/// The entry symbol the host looks up.
@_cdecl("prune_plugin_entry")
public func gradientFlowPluginEntry() -> UnsafePointer<prune_plugin_descriptor> { gradientFlowDescriptor.pointer }

/// The `configure` hook: `iterations`, `step-size`, `pressure`, `epsilon`.
@_cdecl("gradient_flow_configure")
public func gradientFlowConfigure(_ key: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?) -> Int32 {
    PluginBoundary.run {
        guard let key, let value else { throw PluginFailure.invalidArgument("configure: NULL key or value") }
        try GradientFlowCriterion.shared.settings.set(String(cString: key), to: String(cString: value))
    }
}
