import CPrunePlugin
import Foundation
import PruneKit

/// A plugin that loaded: its descriptor's metadata, its validated optional hooks, and the criteria and
/// architectures its `initialize` registered, wrapped as PruneKit types.
public final class LoadedPlugin: @unchecked Sendable {
    /// The file it was loaded from (absolute).
    public let path: String
    public let name: String
    public let version: String
    public let summary: String
    /// The ABI version its descriptor states (equal to the host's, or it would not have loaded).
    public let abiVersion: UInt32
    /// `PRUNE_KIND_*` bits.
    public let kinds: UInt32
    public let hooks: [PluginHook]
    public internal(set) var criteria: [PluginCriterion] = []
    public internal(set) var architectures: [PluginArchitecture] = []

    let descriptor: UnsafePointer<prune_plugin_descriptor>

    init(path: String, descriptor: UnsafePointer<prune_plugin_descriptor>, hooks: [PluginHook]) {
        self.path = path
        self.descriptor = descriptor
        let d = descriptor.pointee
        name = String(cString: d.name)
        version = String(cString: d.version)
        summary = d.summary.map { String(cString: $0) } ?? ""
        abiVersion = d.abi_version
        kinds = d.kinds
        self.hooks = hooks
    }

    /// The kinds as words: `criterion`, `architecture`.
    public var kindNames: [String] {
        var names: [String] = []
        if kinds & PRUNE_KIND_CRITERION != 0 { names.append("criterion") }
        if kinds & PRUNE_KIND_ARCHITECTURE != 0 { names.append("architecture") }
        return names
    }

    /// The plugin's `last_error()` text on this thread ("" when it has none).
    public func lastError() -> String {
        guard let function = descriptor.pointee.last_error, let text = function() else { return "" }
        return String(cString: text)
    }

    /// The hook registered for `role`, if the plugin declares one.
    public func hook(_ role: HookRole) -> PluginHook? { hooks.first { $0.role == role.rawValue } }

    /// The `about` hook's text, if the plugin has one.
    public func about() -> String? {
        guard let hook = hook(.about), case .string(let text)? = try? hook.call([]) else { return nil }
        return text
    }

    /// Passes one `--plugin-option` to the plugin's `configure` hook.
    /// - Throws: ``PluginError/pluginFailed(plugin:function:status:message:)`` when the plugin has no
    ///   `configure` hook or rejects the option.
    public func configure(key: String, value: String) throws(PluginError) {
        guard let hook = hook(.configure) else {
            throw .pluginFailed(plugin: name, function: "configure", status: PRUNE_ERR_UNSUPPORTED, message: "the plugin takes no options (no 'configure' hook)")
        }
        let status = try? hook.call([.string(key), .string(value)])
        guard case .int(let code)? = status, code == Int64(PRUNE_OK) else {
            let code: Int32 = if case .int(let c)? = status { Int32(truncatingIfNeeded: c) } else { PRUNE_ERR_INTERNAL }
            throw .pluginFailed(plugin: name, function: "configure(\(key)=\(value))", status: code, message: lastError())
        }
    }

    /// Runs the plugin's `self-test` hook; `nil` when it has none.
    /// - Throws: ``PluginError/pluginFailed(plugin:function:status:message:)`` when the test fails.
    @discardableResult
    public func selfTest() throws(PluginError) -> Bool? {
        guard let hook = hook(.selfTest) else { return nil }
        guard case .int(let code)? = try? hook.call([]), code == Int64(PRUNE_OK) else {
            throw .pluginFailed(plugin: name, function: "self-test", status: PRUNE_ERR_INTERNAL, message: lastError())
        }
        return true
    }

    /// An error for a failed call of `function`, with the plugin's last error text.
    func failure(_ function: String, status: prune_status) -> PluginError {
        .pluginFailed(plugin: name, function: function, status: status, message: lastError())
    }
}
