import CPrunePlugin
import PrunePluginKit

/// Step 3 — the descriptor. `PluginExport.descriptor` builds the static `prune_plugin_descriptor` (ABI
/// version, struct size, name, version, summary, kinds) and the `prune_criterion` vtable around the Swift
/// object. Build it once, in a global: the host keeps the pointer for the life of the process (plugins are
/// never unloaded). `name` is also the prefix of `--plugin-option lamp.KEY=VALUE`.
///
/// Optional hooks are `(role, symbol, signature)` triples; the host checks that the symbol exists and that
/// the signature matches the role's before the plugin loads, then calls it through libffi.
let lampDescriptor = PluginExport.descriptor(
    name: "lamp", version: "1.0.0", summary: "structural LAMP (Lee et al., ICLR 2021): layer-adaptive magnitude scores",
    criteria: [LAMPCriterion.shared],
    hooks: [
        PluginHookDeclaration(role: "configure", symbol: "lamp_configure", signature: "i32(str,str)"),
        PluginHookDeclaration(role: "self-test", symbol: "lamp_self_test", signature: "i32()"),
    ])

/// Step 4 — registration. The one symbol the host looks up after `dlopen`. It reads the descriptor, checks
/// ABI version and struct size, then calls its `initialize`, which hands over the host's services table and
/// receives the criterion vtable; from then on `lamp` is a criterion like the built-ins.
@_cdecl("prune_plugin_entry")
public func lampPluginEntry() -> UnsafePointer<prune_plugin_descriptor> { lampDescriptor.pointer }

/// The `configure` hook (`--plugin-option lamp.power=1`). Step 5 — errors: C callers get a status code,
/// never a Swift error; `PluginBoundary.run` turns a thrown `PluginFailure` into its status and stores the
/// message for the descriptor's `last_error`, which the host prints.
@_cdecl("lamp_configure")
public func lampConfigure(_ key: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?) -> Int32 {
    PluginBoundary.run {
        guard let key, let value else { throw PluginFailure.invalidArgument("configure: NULL key or value") }
        let (name, text) = (String(cString: key), String(cString: value))
        guard name == "power" else { throw PluginFailure.invalidArgument("unknown option '\(name)' (known: power)") }
        guard let power = Int(text), power == 1 || power == 2 else { throw PluginFailure.invalidArgument("power must be 1 or 2, got '\(text)'") }
        LAMPCriterion.shared.power = power
    }
}

/// The `self-test` hook (`prunekit plugins list --check`): sizes [4, 1, 3] → [4/4, 1/8, 3/7].
@_cdecl("lamp_self_test")
public func lampSelfTest() -> Int32 {
    PluginBoundary.run {
        let scores = LAMPCriterion.normalized([4, 1, 3])
        let expected: [Float] = [1, 1.0 / 8, 3.0 / 7]
        guard zip(scores, expected).allSatisfy({ Swift.abs($0 - $1) < 1e-6 }) else {
            throw PluginFailure(status: PRUNE_ERR_INTERNAL, message: "LAMP of [4, 1, 3] gave \(scores), expected \(expected)")
        }
    }
}
