/// Why a plugin did not load or a call into it failed; every case names the file (or plugin) and, where
/// two sides disagree, both values.
public enum PluginError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No file at `path`.
    case fileNotFound(path: String)
    /// The file is not an ELF shared object (`reason` says what was found).
    case notSharedObject(path: String, reason: String)
    /// The shared object was built for another machine or word size.
    case wrongArchitecture(path: String, found: String, expected: String)
    /// `dlopen` refused the file (an unresolved dependency or symbol, usually); `reason` is `dlerror()`.
    case loadFailed(path: String, reason: String)
    /// The file does not export the entry symbol.
    case missingEntrySymbol(path: String, symbol: String)
    /// The plugin was built against another ABI version than the host's.
    case abiMismatch(path: String, plugin: UInt32, host: UInt32)
    /// A struct the plugin handed over is smaller than ABI `abi` requires.
    case structTooSmall(path: String, structure: String, size: Int, minimum: Int, abi: UInt32)
    /// The descriptor or a vtable lacks a required field or holds an invalid value.
    case invalidDescriptor(path: String, reason: String)
    /// An optional entry point's declared signature is malformed or not the one its role needs.
    case rejectedSignature(path: String, role: String, symbol: String, signature: String, reason: String)
    /// An optional entry point's symbol is not exported.
    case missingHookSymbol(path: String, role: String, symbol: String)
    /// A plugin function returned an error status.
    case pluginFailed(plugin: String, function: String, status: Int32, message: String)
    /// A plugin's criterion, architecture, class or preset name is already taken.
    case duplicate(path: String, what: String)
    /// `--plugin NAME` without a slash was not found on the search path.
    case notOnSearchPath(name: String, searched: [String])

    public var description: String {
        switch self {
        case .fileNotFound(let path): "plugin \(path): file not found"
        case .notSharedObject(let path, let reason): "plugin \(path): not a shared object (\(reason))"
        case .wrongArchitecture(let path, let found, let expected):
            "plugin \(path): built for \(found), but this host is \(expected)"
        case .loadFailed(let path, let reason): "plugin \(path): dlopen failed: \(reason)"
        case .missingEntrySymbol(let path, let symbol):
            "plugin \(path): does not export the entry symbol \(symbol) (is it a PruneKit plugin?)"
        case .abiMismatch(let path, let plugin, let host):
            "plugin \(path): built for plugin ABI \(plugin), but this host speaks ABI \(host); rebuild it against prune_plugin.h of ABI \(host)"
        case .structTooSmall(let path, let structure, let size, let minimum, let abi):
            "plugin \(path): \(structure) is \(size) bytes, but ABI \(abi) needs at least \(minimum)"
        case .invalidDescriptor(let path, let reason): "plugin \(path): \(reason)"
        case .rejectedSignature(let path, let role, let symbol, let signature, let reason):
            "plugin \(path): hook '\(role)' (\(symbol)) declares signature \"\(signature)\": \(reason)"
        case .missingHookSymbol(let path, let role, let symbol):
            "plugin \(path): hook '\(role)' names symbol \(symbol), which the plugin does not export"
        case .pluginFailed(let plugin, let function, let status, let message):
            "plugin \(plugin): \(function) failed with status \(status) (\(PluginStatus.name(status)))"
                + (message.isEmpty ? "" : ": \(message)")
        case .duplicate(let path, let what): "plugin \(path): \(what) is already registered"
        case .notOnSearchPath(let name, let searched):
            "plugin \(name) not found on PRUNEKIT_PLUGIN_PATH (searched: \(searched.isEmpty ? "nothing" : searched.joined(separator: ", ")))"
        }
    }
}
