import CPrunePlugin
import PrunePluginKit

/// Step 7 — export. The descriptor lists the architecture; `PluginExport` builds the C tables (presets,
/// input and conditioning names, scheduler JSON, `build_model` / `forward` / `release_model`) once, and the
/// entry symbol returns them. Everything after the forward (scoring, the plan, surgery, the export's
/// `config.json` = the preset's configuration, `prunekit.json`, reloading) is PruneKit's own code.
let tinyDenoiserDescriptor = PluginExport.descriptor(
    name: "tiny-denoiser", version: "1.0.0", summary: "example architecture plugin: a tiny unconditional patch transformer",
    architectures: [TinyDenoiserArchitecture()])

/// The entry symbol the host looks up after `dlopen`.
@_cdecl("prune_plugin_entry")
public func tinyDenoiserPluginEntry() -> UnsafePointer<prune_plugin_descriptor> { tinyDenoiserDescriptor.pointer }
