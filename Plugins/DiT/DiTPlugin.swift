import CPrunePlugin
import PrunePluginKit

/// The plugin's descriptor: one architecture, `dit`.
let ditDescriptor = PluginExport.descriptor(
    name: "dit", version: "1.0.0",
    summary: "DiT (Peebles & Xie, ICCV 2023): class-conditional latent diffusion transformer with adaLN-Zero blocks",
    architectures: [DiTArchitecture()])

/// The entry symbol the host looks up.
@_cdecl("prune_plugin_entry")
public func ditPluginEntry() -> UnsafePointer<prune_plugin_descriptor> { ditDescriptor.pointer }
